using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;
using SessionStore.Redis;

namespace SessionStore.Tests.Faults;

/// <summary>
/// Redis hung with SIGSTOP: StackExchange.Redis ignores tokens and would wait its own timeouts, so the cache
/// bounds every call by its operation timeout and stops waiting when the caller cancels.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungRedisTests(FaultServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private RedisSessionCache NewCache(TimeSpan timeout) => new(new RedisSessionCacheOptions
    {
        Configuration = servers.RedisConfiguration,
        InstanceName = $"hung-{Guid.NewGuid():N}:",
        OperationTimeout = timeout,
    });

    [Theory]
    [MemberData(nameof(HungServerTiming.Operations), MemberType = typeof(HungServerTiming))]
    public async Task Every_operation_fails_within_the_timeout_naming_store_and_operation(string operation)
    {
        using var cache = NewCache(Timeout);
        var key = Guid.NewGuid().ToString();
        await cache.SetAsync(key, [1, 2, 3], IdleTimeout, Token);
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var (error, elapsed) = await HungServerTiming.FailsAsync<SessionStoreTimeoutException>(() => HungServerTiming.CallAsync(cache, operation, key, Token));
        await freezer.ThawAsync();

        output.WriteLine($"{operation} on hung Redis: {error.GetType().Name} after {elapsed.TotalMilliseconds:0} ms (timeout {Timeout.TotalMilliseconds} ms): {error.Message}");
        HungServerTiming.AssertTimedOut(error, elapsed, "redis", operation, Timeout);
    }

    [Fact]
    public async Task A_cancelled_token_is_honoured_within_100_ms()
    {
        using var cache = NewCache(TimeSpan.FromSeconds(30));
        var key = Guid.NewGuid().ToString();
        await cache.SetAsync(key, [1], IdleTimeout, Token);
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var latency = await HungServerTiming.CancellationLatencyAsync(t => cache.GetAsync(key, t), TimeSpan.FromMilliseconds(300));
        await freezer.ThawAsync();

        output.WriteLine($"Cancelled GetAsync on hung Redis returned {latency.TotalMilliseconds:0.0} ms after the token fired.");
        Assert.InRange(latency, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_synchronous_get_is_bounded_by_the_operation_timeout()
    {
        using var cache = NewCache(Timeout);
        var key = Guid.NewGuid().ToString();
        cache.Set(key, [1], IdleTimeout);
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var error = Assert.Throws<SessionStoreTimeoutException>(() => cache.Get(key));
        watch.Stop();
        await freezer.ThawAsync();

        output.WriteLine($"Synchronous Get on hung Redis: failed after {watch.Elapsed.TotalMilliseconds:0} ms (OperationTimeout {Timeout.TotalMilliseconds} ms): {error.Message}");
        Assert.Equal("get", error.Operation);
        Assert.InRange(watch.Elapsed, Timeout - TimeSpan.FromMilliseconds(50), Timeout + TimeSpan.FromSeconds(1) + HungServerTiming.Slack);
    }

    [Fact]
    public async Task After_the_server_resumes_the_cache_serves_the_right_values_again()
    {
        using var cache = NewCache(Timeout);
        var key = Guid.NewGuid().ToString();
        await cache.SetAsync(key, [1], IdleTimeout, Token);
        await using (var freezer = await servers.RedisFreezerAsync())
        {
            await freezer.FreezeAsync();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Assert.ThrowsAnyAsync<Exception>(() => cache.SetAsync(key, [9, (byte)i], IdleTimeout, Token))));
            await freezer.ThawAsync();
        }

        await Task.Delay(Timeout, Token);
        await cache.SetAsync(key, [2], IdleTimeout, Token);
        Assert.Equal([2], await cache.GetAsync(key, Token));
    }
}
