using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A store that missed writes as the secondary and became the primary before it answered again (the guide's "roll
/// one step so the healthy store answers"): the writes it took as primary are the newest, and the catch-up must not
/// copy the other store's older copy over them. Before, carts lost the items added after the step.
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

    private static async Task RenameAsync(Npgsql.NpgsqlDataSource dataSource, string from, string to)
    {
        await using var rename = dataSource.CreateCommand($"ALTER TABLE \"{from}\" RENAME TO \"{to}\"");
        await rename.ExecuteNonQueryAsync(Token);
    }
}
