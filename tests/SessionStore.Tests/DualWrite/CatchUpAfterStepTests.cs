using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A store that missed writes as the secondary and became the primary before it answered again (the guide's "roll
/// one step so the healthy store answers", or a rollback): the catch-up copies whichever copy is newer, by version.
/// The writes it took as primary are the newest and must not be overwritten (before, carts lost the items added
/// after the step); but when it took none, the write it missed is the newest, and must not be overwritten by its
/// older copy either (before, that write was then in neither store).
/// </summary>
public sealed class CatchUpAfterStepTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_write_missed_as_the_secondary_is_not_copied_over_the_newer_writes_it_took_as_primary()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration);
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        // PostgreSQL, the secondary, misses the second write: its table is away.
        var table = harness.Configuration["SessionStore:Postgres:TableName"];
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString);
        await RenameAsync(dataSource, table!, $"{table}_away");
        await harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token);
        Assert.Equal(1, harness.Cache.GetStatistics().CatchUpBacklog["postgresql"]);

        // A step on: PostgreSQL is the primary. It takes a newer write that Redis, now the secondary, misses (written
        // here straight into the table, while it is still away from the cache), then answers again.
        harness.Phase = nameof(SessionStorePhase.DualWritePostgresPrimary);
        using (var away = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = $"{table}_away" }))
        {
            await away.SetAsync(key, [3], DualWriteHarness.IdleTimeout, Token);
        }

        await RenameAsync(dataSource, $"{table}_away", table!);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog.Values.Sum() == 0), "the catch-up emptied its backlogs");

        Assert.Equal([3], await harness.Postgres.GetAsync(key, Token));
        Assert.Equal([3], await harness.Redis.GetAsync(key, Token));
        Assert.Equal([3], await harness.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_write_the_new_primary_missed_before_a_step_forward_is_copied_to_it_not_lost()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration);
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        // PostgreSQL, the secondary, refuses the second write; then the phase steps on and it becomes the primary.
        await harness.RefusePostgresWritesAsync(refuse: true);
        await harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token);
        Assert.Equal(1, harness.Cache.GetStatistics().CatchUpBacklog["postgresql"]);
        harness.Phase = nameof(SessionStorePhase.DualWritePostgresPrimary);
        await harness.RefusePostgresWritesAsync(refuse: false);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog.Values.Sum() == 0), "the catch-up emptied its backlogs");

        Assert.Equal([2], await harness.Postgres.GetAsync(key, Token));
        Assert.Equal([2], await harness.Redis.GetAsync(key, Token));
        Assert.Equal([2], await harness.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_write_Redis_missed_before_a_rollback_is_copied_to_it_not_lost()
    {
        // A Redis of its own: it is made to refuse writes, which would fail every other test sharing one.
        await using var ownRedis = await OwnRedis.StartAsync(Token);
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWritePostgresPrimary), postgres.ConnectionString, ownRedis.Configuration);
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        // Redis, the secondary, refuses the second write (out of memory); then the phase rolls back to Redis first.
        await harness.RefuseRedisWritesAsync(refuse: true);
        await harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token);
        Assert.Equal(1, harness.Cache.GetStatistics().CatchUpBacklog["redis"]);
        harness.Phase = nameof(SessionStorePhase.DualWriteRedisPrimary);
        await harness.RefuseRedisWritesAsync(refuse: false);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog.Values.Sum() == 0), "the catch-up emptied its backlogs");

        Assert.Equal([2], await harness.Redis.GetAsync(key, Token));
        Assert.Equal([2], await harness.Postgres.GetAsync(key, Token));
        Assert.Equal([2], await harness.Cache.GetAsync(key, Token));
    }

    private static async Task RenameAsync(Npgsql.NpgsqlDataSource dataSource, string from, string to)
    {
        await using var rename = dataSource.CreateCommand($"ALTER TABLE \"{from}\" RENAME TO \"{to}\"");
        await rename.ExecuteNonQueryAsync(Token);
    }
}
