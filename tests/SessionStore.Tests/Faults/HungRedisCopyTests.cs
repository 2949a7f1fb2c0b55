using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;
using SessionStore.Migration.Internal;
using SessionStore.Redis;

namespace SessionStore.Tests.Faults;

/// <summary>
/// The copy steps that write Redis on a condition (taking back a copy of a session signed out meanwhile, cutting a
/// copy to its source's time left), and closing the connection after them, on a Redis hung with SIGSTOP.
/// StackExchange.Redis sends a conditional transaction by blocking the sending thread until the condition's answers
/// come, up to its own timeout per transaction: a batch of 100 failed only after some 8 s at a 1 s timeout.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungRedisCopyTests(FaultServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("copy take back")]
    [InlineData("copy time left")]
    public async Task A_conditional_copy_step_fails_within_the_timeout_naming_store_and_operation(string operation)
    {
        var options = new RedisSessionCacheOptions { Configuration = servers.RedisConfiguration, InstanceName = $"hung-copy-{Guid.NewGuid():N}:", OperationTimeout = Timeout };
        var source = await RedisSource.ConnectAsync(options, Token);
        await using var _ = source;
        var keys = Enumerable.Range(0, 100).Select(i => $"k{i}").ToList();
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var (error, elapsed) = await HungServerTiming.FailsAsync<SessionStoreTimeoutException>(() => operation == "copy take back"
            ? source.DeleteIfUnchangedAsync(keys.ConvertAll(k => (k, new byte[] { 1 })))
            : source.ExpireIfUnchangedAsync(keys.ConvertAll(k => (k, new byte[] { 1 }, TimeSpan.FromMinutes(3)))));
        await freezer.ThawAsync();

        output.WriteLine($"{operation} of 100 keys on hung Redis: failed after {elapsed.TotalMilliseconds:0} ms (timeout {Timeout.TotalMilliseconds} ms): {error.Message}");
        HungServerTiming.AssertTimedOut(error, elapsed, "redis", operation, Timeout);
    }

    [Fact]
    public async Task Disposing_the_cache_does_not_wait_for_a_hung_server_to_answer_QUIT()
    {
        var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = servers.RedisConfiguration, InstanceName = $"hung-close-{Guid.NewGuid():N}:", OperationTimeout = Timeout });
        await cache.SetAsync(Guid.NewGuid().ToString(), [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var watch = Stopwatch.StartNew();
        cache.Dispose();
        var elapsed = watch.Elapsed;
        await freezer.ThawAsync();

        output.WriteLine($"RedisSessionCache.Dispose on hung Redis: {elapsed.TotalMilliseconds:0} ms (timeout {Timeout.TotalMilliseconds} ms)");
        Assert.InRange(elapsed, TimeSpan.Zero, HungServerTiming.Slack);
    }
}
