using SessionStore.DualWrite;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// "Log out everywhere" in a dual phase, racing the user's other requests or missed by the secondary: no session of
/// the user comes back. Before, a read that missed in the revoked primary repaired the secondary's copy back, a write
/// racing the revoke left its copy in the secondary for the next read to repair back, and a revoke the secondary
/// missed was never made there. A session signed in after the revoke is left alone.
/// </summary>
public sealed class RevokeRaceTests(PostgresServer postgres, RedisServer redis)
{
    private const int Races = 60;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task Reads_racing_a_revoke_repair_none_of_the_users_sessions_back(string phase)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var user = $"user-{Guid.NewGuid():N}";
        var keys = Enumerable.Range(0, 300).Select(_ => Guid.NewGuid().ToString()).ToArray();
        await Parallel.ForEachAsync(keys, Token, async (key, t) => await harness.Cache.SetAsync(key, MigrationScenario.Session(1, user), DualWriteHarness.IdleTimeout, t));

        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 8).Select(reader => Task.Run(async () =>
        {
            for (var i = reader; !stop.IsCancellationRequested; i += 8)
            {
                await harness.Cache.GetAsync(keys[i % keys.Length], Token);
            }
        })).ToArray();
        await Task.Delay(20, Token);
        await harness.Cache.RevokeUserSessionsAsync(user, Token);
        await Task.Delay(50, Token);
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Equal(0, await CountPresentAsync(harness, keys));
    }

    [Theory]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task A_write_racing_a_revoke_is_never_read_back_from_the_secondary_alone(string phase)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration, settings => settings["SessionStore:SecondaryTimeout"] = "00:00:00.500");
        var (primary, secondary) = phase == nameof(SessionStorePhase.DualWriteRedisPrimary)
            ? ((SessionStore.Internal.ISessionCacheProvider)harness.Redis, (SessionStore.Internal.ISessionCacheProvider)harness.Postgres)
            : (harness.Postgres, harness.Redis);
        var keys = new List<string>();
        for (var race = 0; race < Races; race++)
        {
            var user = $"user-{Guid.NewGuid():N}";
            var key = Guid.NewGuid().ToString();
            keys.Add(key);
            await harness.Cache.SetAsync(key, MigrationScenario.Session(1, user), DualWriteHarness.IdleTimeout, Token);
            await ConcurrentRemoveTests.Together(
                () => harness.Cache.SetAsync(key, MigrationScenario.Session(2, user), DualWriteHarness.IdleTimeout, Token),
                () => harness.Cache.RevokeUserSessionsAsync(user, Token));

            // Whichever came first, a session the primary no longer holds is not read back from the secondary.
            var inPrimary = await primary.GetAsync(key, Token);
            Assert.Equal(inPrimary, await harness.Cache.GetAsync(key, Token));
        }

        // The revoke is made once more in the secondary after the writes racing it: none is left there alone.
        await DualWriteHarness.EventuallyAsync(async () =>
        {
            foreach (var key in keys)
            {
                if (await secondary.GetAsync(key, Token) is not null && await primary.GetAsync(key, Token) is null)
                {
                    return false;
                }
            }

            return true;
        }, "no session is left in the secondary alone");
    }

    [Theory]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task A_session_signed_in_just_after_a_revoke_is_left_in_both_stores(string phase)
    {
        // "Change the password, log out everywhere, sign this device in again", within a second.
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration, settings => settings["SessionStore:SecondaryTimeout"] = "00:00:00.500");
        var user = $"user-{Guid.NewGuid():N}";
        var (old, signedInAgain) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        await harness.Cache.SetAsync(old, MigrationScenario.Session(1, user), DualWriteHarness.IdleTimeout, Token);

        await harness.Cache.RevokeUserSessionsAsync(user, Token);
        await harness.Cache.SetAsync(signedInAgain, MigrationScenario.Session(2, user), DualWriteHarness.IdleTimeout, Token);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token); // past the revoke's hold

        Assert.NotNull(await harness.Postgres.GetAsync(signedInAgain, Token));
        Assert.NotNull(await harness.Redis.GetAsync(signedInAgain, Token));
        Assert.Null(await harness.Cache.GetAsync(old, Token));
    }

    [Fact]
    public async Task A_revoke_the_secondary_refused_is_made_there_once_it_answers_and_read_repair_waits_for_it()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration, settings => settings["SessionStore:SecondaryTimeout"] = "00:00:00.500");
        var user = $"user-{Guid.NewGuid():N}";
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, MigrationScenario.Session(1, user), DualWriteHarness.IdleTimeout, Token);

        await harness.RefusePostgresWritesAsync(refuse: true);
        await Assert.ThrowsAnyAsync<Exception>(() => harness.Cache.RevokeUserSessionsAsync(user, Token));
        Assert.NotNull(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Cache.GetAsync(key, Token)); // not repaired from PostgreSQL's copy
        await Task.Delay(TimeSpan.FromSeconds(1), Token);      // past the revoke's own second try, which fails too
        Assert.Null(await harness.Cache.GetAsync(key, Token));

        await harness.RefusePostgresWritesAsync(refuse: false);
        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is null, "the catch-up made the revoke in PostgreSQL");
        Assert.Null(await harness.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_comparisons_copy_landing_after_a_revoke_is_taken_back()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration, settings =>
        {
            settings["SessionStore:SecondaryTimeout"] = "00:00:01";
            settings["SessionStore:ComparisonSampleRate"] = "1";
        });
        var table = harness.TableName;
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        var user = $"user-{Guid.NewGuid():N}";
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, MigrationScenario.Session(1, user), DualWriteHarness.IdleTimeout, Token);
        await harness.Postgres.RemoveAsync(key, Token); // the secondary lacks it: the comparison will copy it

        // The copy's insert sleeps; the revoke's delete cannot see it, and it lands after.
        await SlowInsertsAsync(dataSource, table, slow: true);
        Assert.NotNull(await harness.Cache.GetAsync(key, Token));
        await DualWriteHarness.EventuallyAsync(async () => await SleepingInsertsAsync(dataSource, table) > 0, "the comparison's copy is on its way");
        await harness.Cache.RevokeUserSessionsAsync(user, Token);
        await SlowInsertsAsync(dataSource, table, slow: false);

        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is null, "the late copy is taken back");
        Assert.Null(await harness.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_removal_the_secondary_missed_stands_after_a_write_the_primary_failed_too()
    {
        // A Redis of its own: it is made to refuse writes, which would fail every other test sharing one.
        await using var ownRedis = await OwnRedis.StartAsync(Token);
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, ownRedis.Configuration);
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, MigrationScenario.Session(1, "ada"), DualWriteHarness.IdleTimeout, Token);

        await harness.RefusePostgresWritesAsync(refuse: true);
        await harness.Cache.RemoveAsync(key, Token); // signed out; PostgreSQL missed it
        await harness.RefuseRedisWritesAsync(refuse: true);
        await Assert.ThrowsAnyAsync<Exception>(() => harness.Cache.SetAsync(key, MigrationScenario.Session(2, "ada"), DualWriteHarness.IdleTimeout, Token));
        await harness.RefuseRedisWritesAsync(refuse: false);
        await harness.RefusePostgresWritesAsync(refuse: false);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog["postgresql"] == 0), "the catch-up emptied its backlog");

        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_revoke_missed_by_the_store_the_phase_does_not_use_fails_once_the_catch_up_is_full()
    {
        // Before, it was dropped in silence: the user's copy stayed in Redis, to be read-repaired back after a step back.
        await using var ownRedis = await OwnRedis.StartAsync(Token);
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWritePostgresPrimary), postgres.ConnectionString, ownRedis.Configuration, settings =>
        {
            settings["SessionStore:CatchUpCapacity"] = "1";
            settings["SessionStore:SecondaryTimeout"] = "00:00:00.500";
        });
        var (ada, bob) = ($"ada-{Guid.NewGuid():N}", $"bob-{Guid.NewGuid():N}");
        var bobsKey = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(bobsKey, MigrationScenario.Session(1, bob), DualWriteHarness.IdleTimeout, Token);
        harness.Phase = nameof(SessionStorePhase.PostgresOnly);
        await ownRedis.PauseAsync();

        await harness.Cache.RevokeUserSessionsAsync(ada, Token); // Redis did not answer: the catch-up holds it
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => harness.Cache.RevokeUserSessionsAsync(bob, Token));

        Assert.Contains("CatchUpCapacity", error.Message);
        Assert.Equal(0, harness.Cache.GetStatistics().CatchUpOverflow); // no missed key for sync to find: the caller runs the revoke again
        Assert.Null(await harness.Postgres.GetAsync(bobsKey, Token));
        await ownRedis.ResumeAsync();
        await DualWriteHarness.EventuallyAsync(RevokeBobAgainAsync, "the revoke run again reached Redis, once the catch-up had room");

        async Task<bool> RevokeBobAgainAsync()
        {
            try
            {
                await harness.Cache.RevokeUserSessionsAsync(bob, Token);
            }
            catch (InvalidOperationException)
            {
                return false;
            }

            return await harness.Redis.GetAsync(bobsKey, Token) is null;
        }
    }

    private static async Task SlowInsertsAsync(Npgsql.NpgsqlDataSource dataSource, string table, bool slow)
    {
        await using var command = dataSource.CreateCommand(slow
            ? $"""
              CREATE FUNCTION "{table}_slow"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.8); RETURN NEW; END $$;
              CREATE TRIGGER "{table}_slow" BEFORE INSERT ON "{table}" FOR EACH ROW EXECUTE FUNCTION "{table}_slow"();
              """
            : $"""DROP TRIGGER "{table}_slow" ON "{table}"; DROP FUNCTION "{table}_slow"();""");
        await command.ExecuteNonQueryAsync(Token);
    }

    private static async Task<long> SleepingInsertsAsync(Npgsql.NpgsqlDataSource dataSource, string table)
    {
        await using var command = dataSource.CreateCommand($"SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%{table}%'");
        return (long)(await command.ExecuteScalarAsync(Token))!;
    }

    private static async Task<int> CountPresentAsync(DualWriteHarness harness, IEnumerable<string> keys)
    {
        var present = 0;
        foreach (var key in keys)
        {
            present += await harness.Postgres.GetAsync(key, Token) is not null || await harness.Redis.GetAsync(key, Token) is not null ? 1 : 0;
        }

        return present;
    }
}
