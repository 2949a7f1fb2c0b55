using SessionStore.DualWrite;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A sign-out while a copy of the sign-in is still on its way to PostgreSQL, the secondary: a removal found nothing
/// to delete there, the copy landed after it, and the next read repaired the session back, signed in again. The
/// copy was the catch-up's (it read the primary, then wrote "only where absent"), or the request's own write given up
/// on after SecondaryTimeout, which is abandoned, not stopped. PostgreSQL is made slow for the one key by a trigger.
/// </summary>
public sealed class CatchUpSignOutTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_sign_out_while_the_catch_up_copies_the_session_is_not_undone_by_the_copy()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration);
        await WarmUpAsync(harness);
        var key = Guid.NewGuid().ToString();

        await harness.RefusePostgresWritesAsync(refuse: true);
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token); // PostgreSQL misses the sign-in
        Assert.Equal(1, harness.Cache.GetStatistics().CatchUpBacklog["postgresql"]);
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        await SlowInsertsAsync(dataSource, harness.TableName, key, seconds: 1);
        await harness.RefusePostgresWritesAsync(refuse: false); // answers again: the catch-up copies the session, slowly

        await DualWriteHarness.EventuallyAsync(
            async () => await SleepingInsertsAsync(dataSource, harness.TableName) > 0,
            "the catch-up's copy is under way");
        await harness.Cache.RemoveAsync(key, Token); // the sign-out
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog["postgresql"] == 0), "the catch-up ended");

        await AssertSignedOutAsync(harness, key);
    }

    [Fact]
    public async Task A_sign_out_before_a_given_up_write_of_the_sign_in_lands_is_not_undone_by_it()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration,
            settings => settings["SessionStore:SecondaryTimeout"] = "00:00:00.300");
        await WarmUpAsync(harness);
        var key = Guid.NewGuid().ToString();
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        await SlowInsertsAsync(dataSource, harness.TableName, key, seconds: 1.5);

        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token); // PostgreSQL's insert given up on after 300 ms, still on its way
        await harness.Cache.SetAsync("other-" + Guid.NewGuid(), [0], DualWriteHarness.IdleTimeout, Token); // PostgreSQL answers for other keys
        await harness.Cache.RemoveAsync(key, Token); // the sign-out, in both stores: PostgreSQL's row is not there yet
        await DualWriteHarness.EventuallyAsync(
            async () => await SleepingInsertsAsync(dataSource, harness.TableName) == 0,
            "the late insert landed");
        // Left there, it was read back through the cache (read repair) as the signed-in session.
        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is null, "the catch-up removed the copy that landed late");

        await AssertSignedOutAsync(harness, key);
    }

    [Fact]
    public async Task A_refresh_given_up_after_the_sign_out_does_not_let_the_late_sign_in_stay()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration,
            settings => settings["SessionStore:SecondaryTimeout"] = "00:00:00.300");
        await WarmUpAsync(harness);
        var key = Guid.NewGuid().ToString();
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        await SlowInsertsAsync(dataSource, harness.TableName, key, seconds: 5);

        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token); // PostgreSQL's insert given up on after 300 ms, still on its way
        await harness.Cache.RemoveAsync(key, Token); // the sign-out: PostgreSQL skipped for the key (it just timed out), a removal in the backlog
        await harness.Cache.RefreshAsync(key, Token); // a refresh of the signed-out key, skipped too: its GiveUp sets RemovedSince = false
        await DualWriteHarness.EventuallyAsync(
            async () => await SleepingInsertsAsync(dataSource, harness.TableName) == 0,
            "the late insert landed");
        await DualWriteHarness.EventuallyAsync(
            () => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog["postgresql"] == 0), "the catch-up ended");
        await Task.Delay(2000, Token);
        await DualWriteHarness.EventuallyAsync(
            () => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog["postgresql"] == 0), "the catch-up ended");

        await AssertSignedOutAsync(harness, key);
    }

    [Fact]
    public async Task A_sign_out_after_the_catch_up_gave_up_on_its_copy_is_not_undone_by_the_copy()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration,
            settings => settings["SessionStore:SecondaryTimeout"] = "00:00:00.300");
        await WarmUpAsync(harness);
        var key = Guid.NewGuid().ToString();

        await harness.RefusePostgresWritesAsync(refuse: true);
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token); // PostgreSQL misses the sign-in
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        await SlowInsertsAsync(dataSource, harness.TableName, key, seconds: 3);
        await harness.RefusePostgresWritesAsync(refuse: false); // the catch-up copies the session, slower than SecondaryTimeout

        await DualWriteHarness.EventuallyAsync(
            async () => await SleepingInsertsAsync(dataSource, harness.TableName) > 0,
            "the catch-up's copy is under way");
        await Task.Delay(500, Token); // the catch-up gave up on its copy (300 ms) and left the session's turn; the copy is still on its way
        await harness.Cache.SetAsync("other-" + Guid.NewGuid(), [0], DualWriteHarness.IdleTimeout, Token); // PostgreSQL answers for other keys
        await harness.Cache.RemoveAsync(key, Token); // the sign-out, in both stores: PostgreSQL's row is not there yet
        await DualWriteHarness.EventuallyAsync(
            async () => await SleepingInsertsAsync(dataSource, harness.TableName) == 0,
            "the late copy landed");
        await Task.Delay(2500, Token);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog["postgresql"] == 0), "the catch-up ended");

        await AssertSignedOutAsync(harness, key);
    }

    private static async Task WarmUpAsync(DualWriteHarness harness)
    {
        var warm = "warm-" + Guid.NewGuid();
        await harness.Cache.SetAsync(warm, [0], DualWriteHarness.IdleTimeout, Token);
        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(warm, Token) is not null, "the table exists");
    }

    // Inserts into the table held by the slow trigger now.
    private static async Task<long> SleepingInsertsAsync(Npgsql.NpgsqlDataSource dataSource, string table) =>
        (long)(await ExecuteAsync(dataSource, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND strpos(query, $1) > 0", table))!;

    private static async Task AssertSignedOutAsync(DualWriteHarness harness, string key)
    {
        var inPostgres = await harness.Postgres.GetAsync(key, Token);
        var readBack = await harness.Cache.GetAsync(key, Token);
        Assert.True(inPostgres is null && readBack is null,
            $"a signed-out session: in PostgreSQL {(inPostgres is null ? "none" : "still")}, read through the cache {(readBack is null ? "none" : "signed in again")}");
    }

    // A BEFORE INSERT trigger that sleeps for one key, as a stalled disk would: a DELETE meanwhile does not see the row.
    private static Task SlowInsertsAsync(Npgsql.NpgsqlDataSource dataSource, string table, string key, double seconds) =>
        ExecuteAsync(dataSource, $"""
            CREATE FUNCTION "{table}_slow"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.sid = '{key}' THEN PERFORM pg_sleep({seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}); END IF; RETURN NEW; END $$;
            CREATE TRIGGER "{table}_slow" BEFORE INSERT ON "{table}" FOR EACH ROW EXECUTE FUNCTION "{table}_slow"();
            """);

    private static async Task<object?> ExecuteAsync(Npgsql.NpgsqlDataSource dataSource, string sql, params object[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = parameter });
        }

        return await command.ExecuteScalarAsync(Token);
    }
}
