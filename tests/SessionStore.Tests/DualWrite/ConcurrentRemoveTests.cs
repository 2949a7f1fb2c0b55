using SessionStore.DualWrite;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A remove racing another request of the same session (a sign-out while another tab loads a page) in a dual phase:
/// once both have returned, the stores agree, and a removed session stays removed. Before sessions took turns
/// (SessionLocks), a read that missed in the primary between the remove's two stores copied the secondary's copy
/// back (250 of 300 sessions signed in again, DualWriteRedisPrimary), and a set racing the remove left its copy in
/// one store only, which the next read then repaired back.
/// </summary>
public sealed class ConcurrentRemoveTests(PostgresServer postgres, RedisServer redis)
{
    private const int Sessions = 100;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>
    /// A sign-out in a single-store phase, next to the dual phase it rolls back to (or, in a rolling deploy, that
    /// another instance still runs): the copy in the store the phase does not use went on living, and the dual phase's
    /// read-repair brought it back: 20 of 20 signed-out users signed in again.
    /// </summary>
    [Theory]
    [InlineData(nameof(SessionStorePhase.RedisOnly), nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.PostgresOnly), nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task A_session_removed_in_a_single_store_phase_is_not_read_back_by_the_dual_phase_next_to_it(string single, string dual)
    {
        await using var dualInstance = new DualWriteHarness(dual, postgres.ConnectionString, redis.Configuration);
        var keys = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid().ToString()).ToList();
        foreach (var key in keys)
        {
            await dualInstance.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        }

        // Another instance, on the same table and prefix, already (or still) in the single-store phase.
        await using var singleInstance = new DualWriteHarness(single, postgres.ConnectionString, redis.Configuration, settings =>
        {
            settings["SessionStore:Postgres:TableName"] = dualInstance.Configuration["SessionStore:Postgres:TableName"];
            settings["SessionStore:Redis:InstanceName"] = dualInstance.Configuration["SessionStore:Redis:InstanceName"];
        });
        foreach (var (key, i) in keys.Select((k, i) => (k, i)))
        {
            if (i % 2 == 0)
            {
                await singleInstance.Cache.RemoveAsync(key, Token);
            }
            else
            {
                singleInstance.Cache.Remove(key);
            }
        }

        foreach (var key in keys)
        {
            Assert.Null(await dualInstance.Cache.GetAsync(key, Token));
            Assert.Null(await dualInstance.Postgres.GetAsync(key, Token));
            Assert.Null(await dualInstance.Redis.GetAsync(key, Token));
        }
    }

    /// <summary>
    /// A sign-out in RedisOnly whose removal from PostgreSQL waits for a row lock, and the phase stepped to
    /// DualWriteRedisPrimary meanwhile (a reload): a read then missed in Redis, found PostgreSQL's copy not yet removed,
    /// and repaired it back, signing the user in again. The removal now takes the session's turn, so the read waits
    /// for it. (Redis as the idle store answers in order on the one connection: its delete is in before the read.)
    /// </summary>
    [Fact]
    public async Task A_session_whose_removal_is_slow_in_the_idle_store_is_not_read_back_after_a_step_to_the_dual_phase()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration);
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is not null, "PostgreSQL holds the session");
        harness.Phase = nameof(SessionStorePhase.RedisOnly);
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        await using var rowLock = await HeldTransaction.BeginAsync(dataSource, $"SELECT 1 FROM \"{harness.TableName}\" WHERE sid = $1 FOR UPDATE", key);

        var removing = harness.Cache.RemoveAsync(key, Token);
        await Task.Delay(TimeSpan.FromMilliseconds(200), Token); // Redis's copy is gone; PostgreSQL's is not yet
        harness.Phase = nameof(SessionStorePhase.DualWriteRedisPrimary);
        var reading = harness.Cache.GetAsync(key, Token);
        await Task.Delay(TimeSpan.FromMilliseconds(500), Token);
        await rowLock.DisposeAsync();

        await removing;
        Assert.Null(await reading);
        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Redis.GetAsync(key, Token));
        Assert.Equal(0, harness.Cache.GetStatistics().ReadRepairs);
    }

    [Fact]
    public async Task A_removal_the_idle_store_does_not_answer_in_time_is_made_there_once_it_does()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration, settings =>
            settings["SessionStore:SecondaryTimeout"] = "00:00:00.300");
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        // Under load the first secondary write (which creates the table) can outlast the 300 ms: then the catch-up copies it.
        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is not null, "PostgreSQL holds the session");
        harness.Phase = nameof(SessionStorePhase.RedisOnly);

        // Another transaction holds the table's lock past SecondaryTimeout: the sign-out still succeeds, in Redis.
        var table = harness.Configuration["SessionStore:Postgres:TableName"];
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        await using (var connection = await dataSource.OpenConnectionAsync(Token))
        await using (var transaction = await connection.BeginTransactionAsync(Token))
        {
            await using (var lockTable = new Npgsql.NpgsqlCommand($"LOCK TABLE \"{table}\" IN ACCESS EXCLUSIVE MODE", connection, transaction))
            {
                await lockTable.ExecuteNonQueryAsync(Token);
            }

            await harness.Cache.RemoveAsync(key, Token);
            Assert.Null(await harness.Redis.GetAsync(key, Token));
            Assert.Equal(1, harness.Cache.GetStatistics().CatchUpBacklog["postgresql"]);
        }

        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is null, "the catch-up removed the PostgreSQL copy");
    }

    [Fact]
    public async Task Before_the_table_exists_a_sign_out_in_RedisOnly_is_no_failure_of_PostgreSQL()
    {
        // Step 0 of the migration: PostgreSQL configured, its table created only in step 1. There is nothing to
        // remove there, so nothing to count, log, catch up on, or turn the health check Degraded for.
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.RedisOnly), postgres.ConnectionString, redis.Configuration, settings =>
            settings["SessionStore:Postgres:CreateTableIfMissing"] = "false");
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        await harness.Cache.RemoveAsync(key, Token);
        harness.Cache.Remove(key);
        await harness.Cache.RevokeUserSessionsAsync("someone", Token);

        Assert.Null(await harness.Redis.GetAsync(key, Token));
        var statistics = harness.Cache.GetStatistics();
        Assert.Equal(0, statistics.SecondaryFailures);
        Assert.Equal(0, statistics.CatchUpBacklog["postgresql"]);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning);
    }

    [Theory]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task A_session_removed_while_it_is_read_stays_removed_in_both_stores(string phase)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var revived = 0;
        for (var i = 0; i < Sessions; i++)
        {
            var key = Guid.NewGuid().ToString();
            await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

            await Together(
                () => harness.Cache.RemoveAsync(key, Token),
                async () =>
                {
                    for (var read = 0; read < 5; read++)
                    {
                        await harness.Cache.GetAsync(key, Token);
                    }
                });

            if (await harness.Postgres.GetAsync(key, Token) is not null || await harness.Redis.GetAsync(key, Token) is not null || await harness.Cache.GetAsync(key, Token) is not null)
            {
                revived++;
            }
        }

        Assert.Equal(0, revived);
        Assert.Equal(0, harness.Cache.GetStatistics().ReadRepairs);
        Assert.Equal(0, harness.Cache.SessionsInTurn);
    }

    [Theory]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task A_set_racing_a_remove_leaves_both_stores_alike(string phase)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var (removed, written, differing) = (0, 0, 0);
        for (var i = 0; i < Sessions; i++)
        {
            var key = Guid.NewGuid().ToString();
            await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

            await Together(
                () => harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token),
                () => harness.Cache.RemoveAsync(key, Token));

            var inPostgres = await harness.Postgres.GetAsync(key, Token);
            var inRedis = await harness.Redis.GetAsync(key, Token);
            switch ((inPostgres, inRedis))
            {
                case (null, null):
                    removed++;
                    break;
                case ([2], [2]):
                    written++;
                    break;
                default:
                    differing++;
                    break;
            }

            // Whichever came last, the cache answers as the stores hold: a removed session is not read back.
            Assert.Equal(inPostgres, await harness.Cache.GetAsync(key, Token));
        }

        Assert.Equal(0, differing);
        Assert.Equal(Sessions, removed + written);
        Assert.Equal(0, harness.Cache.SessionsInTurn);
    }

    /// <summary>
    /// A sign-out the secondary refused, then another tab's request ending with a refresh that it refused too: the
    /// catch-up must still remove the secondary's copy. Before, the refresh's miss replaced the removal's, the copy
    /// stayed, and the next read repaired the signed-out session back into the primary.
    /// </summary>
    [Fact]
    public async Task A_removal_the_secondary_missed_is_made_even_after_it_missed_a_refresh_of_the_key_too()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration);
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        await harness.RefusePostgresWritesAsync(refuse: true);
        await harness.Cache.RemoveAsync(key, Token);
        await harness.Cache.RefreshAsync(key, Token);
        await harness.RefusePostgresWritesAsync(refuse: false);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog["postgresql"] == 0), "the catch-up emptied its backlog");

        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Cache.GetAsync(key, Token));
        Assert.Null(await harness.Redis.GetAsync(key, Token));
    }

    /// <summary>Starts both calls at once, on the thread pool, and waits for both.</summary>
    internal static async Task Together(Func<Task> first, Func<Task> second)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = new[] { first, second }.Select(call => Task.Run(async () =>
        {
            await start.Task;
            await call();
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(calls);
    }
}
