using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A sign-out the secondary missed (its write failed, reads still answer): until the catch-up removes the secondary's
/// copy, a read that misses in the primary must not repair that copy back, signing the user in again.
/// </summary>
public sealed class ReadRepairAfterMissedRemovalTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_before_the_catch_up_does_not_repair_a_session_whose_removal_the_secondary_missed()
    {
        await using var harness = new DualWriteHarness(nameof(SessionStorePhase.DualWriteRedisPrimary), postgres.ConnectionString, redis.Configuration);
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        Assert.Equal([1], await harness.Postgres.GetAsync(key, Token));

        await harness.RefusePostgresWritesAsync(refuse: true);
        await harness.Cache.RemoveAsync(key, Token); // the sign-out: Redis removes it, PostgreSQL misses it
        var readBack = await harness.Cache.GetAsync(key, Token);
        await harness.RefusePostgresWritesAsync(refuse: false);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog["postgresql"] == 0), "the catch-up ended");

        Assert.Null(readBack);
        Assert.Null(await harness.Redis.GetAsync(key, Token));
        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Cache.GetAsync(key, Token));
    }
}
