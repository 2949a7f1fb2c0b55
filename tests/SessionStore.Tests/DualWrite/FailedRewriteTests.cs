using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A session rewritten unchanged, the rewrite failing in the primary: the bytes of the failed write are those of the
/// acknowledged one before it, which the secondary missed. The catch-up must still bring the secondary up to it.
/// </summary>
public sealed class FailedRewriteTests(PostgresServer postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_failed_rewrite_of_the_same_bytes_does_not_make_the_catch_up_undo_the_acknowledged_write()
    {
        await using var ownRedis = await OwnRedis.StartAsync(Token);
        await using var harness = new DualWriteHarness("dual-pg-primary", postgres.ConnectionString, ownRedis.Configuration);
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        await harness.RefuseRedisWritesAsync(refuse: true);
        await harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token); // acknowledged; Redis misses it
        await harness.RefusePostgresWritesAsync(refuse: true);
        await Assert.ThrowsAnyAsync<Exception>(() => harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token));
        await harness.RefusePostgresWritesAsync(refuse: false);
        await harness.RefuseRedisWritesAsync(refuse: false);

        await DualWriteHarness.EventuallyAsync(async () => await harness.Redis.GetAsync(key, Token) is [2], "the catch-up copied the acknowledged write");
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog.Values.Sum() == 0), "the catch-up ended");
        Assert.Equal([2], await harness.Postgres.GetAsync(key, Token));
        Assert.Equal([2], await harness.Redis.GetAsync(key, Token));
    }
}
