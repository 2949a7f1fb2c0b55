using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;
using SessionStore.Redis;

namespace SessionStore.Tests.Faults;

/// <summary>
/// A conditional write to a Redis without scripts (UseScripts=false: read repair, catch-up and sync copies) is a WATCH
/// transaction, which StackExchange.Redis sends by blocking the sending thread until the condition's answers come.
/// On a hung server that was the caller's own thread, before the operation's deadline and token started to count:
/// one write failed after 2 s at a 1 s timeout, five started together after 5 s, and a cancelled one after its timeout.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungRedisWithoutScriptsTests(FaultServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("absent", 1)]
    [InlineData("unchanged", 1)]
    [InlineData("absent", 5)]
    public async Task A_conditional_write_fails_within_the_timeout_naming_store_and_operation(string condition, int writes)
    {
        using var cache = await ConnectedCacheAsync(Timeout);
        var store = (ISessionCacheProvider)cache;
        var when = condition == "absent" ? WriteCondition.WhenAbsent : WriteCondition.WhenUnchanged([1]);
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var watch = Stopwatch.StartNew();
        var calls = Enumerable.Range(0, writes).Select(_ => store.SetAsync(Guid.NewGuid().ToString(), new byte[] { 2 }, IdleTimeout, when, async: true, Token).AsTask()).ToArray();
        var error = await Record.ExceptionAsync(() => Task.WhenAll(calls));
        var elapsed = watch.Elapsed;
        await freezer.ThawAsync();

        output.WriteLine($"{writes} conditional ({condition}) write(s) without scripts on a hung Redis: {elapsed.TotalMilliseconds:0} ms (timeout {Timeout.TotalMilliseconds} ms): {error?.Message}");
        HungServerTiming.AssertTimedOut(Assert.IsType<SessionStoreTimeoutException>(error), elapsed, "redis", "set", Timeout);
    }

    [Fact]
    public async Task A_cancelled_conditional_write_returns_at_once()
    {
        using var cache = await ConnectedCacheAsync(TimeSpan.FromSeconds(5));
        var store = (ISessionCacheProvider)cache;
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var latency = await HungServerTiming.CancellationLatencyAsync(
            t => store.SetAsync(Guid.NewGuid().ToString(), new byte[] { 2 }, IdleTimeout, WriteCondition.WhenAbsent, async: true, t).AsTask(),
            TimeSpan.FromMilliseconds(300));
        await freezer.ThawAsync();

        output.WriteLine($"a conditional write without scripts on a hung Redis went on {latency.TotalMilliseconds:0} ms after its token was cancelled");
        Assert.InRange(latency, TimeSpan.Zero, HungServerTiming.Slack);
    }

    private async Task<RedisSessionCache> ConnectedCacheAsync(TimeSpan timeout)
    {
        var cache = new RedisSessionCache(new RedisSessionCacheOptions
        {
            Configuration = servers.RedisConfiguration,
            InstanceName = $"hung-noscript-{Guid.NewGuid():N}:",
            OperationTimeout = timeout,
            UseScripts = false,
        });
        await cache.SetAsync(Guid.NewGuid().ToString(), [1], IdleTimeout, Token); // connected before the hang
        return cache;
    }
}
