using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.LocalServers;
using SessionStore.Redis;

namespace SessionStore.Tests.Faults;

/// <summary>
/// Nothing listens where Redis should be: with the connection settings the cache chooses (abortConnect=false,
/// one connect attempt, the FailFast backlog), a request fails at once instead of after ~12 s of connect retries.
/// </summary>
public sealed class RedisNotListeningTests(ITestOutputHelper output)
{
    private const int RedisConnectionSettingsLimit = SessionStore.Redis.Internal.RedisConnectionSettings.MaximumConnectTimeoutMilliseconds;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_request_fails_fast_with_the_default_settings()
    {
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = $"127.0.0.1:{FreePort.Next()}" });
        var timings = new List<double>();
        for (var request = 0; request < 10; request++)
        {
            var watch = Stopwatch.StartNew();
            await Assert.ThrowsAsync<RedisSessionCacheException>(() => request % 2 == 0
                ? cache.GetAsync(Guid.NewGuid().ToString(), Token)
                : cache.SetAsync(Guid.NewGuid().ToString(), [1], new DistributedCacheEntryOptions(), Token));
            timings.Add(watch.Elapsed.TotalMilliseconds);
        }

        var syncWatch = Stopwatch.StartNew();
        Assert.Throws<RedisSessionCacheException>(() => cache.Get(Guid.NewGuid().ToString()));
        syncWatch.Stop();

        output.WriteLine($"Redis not listening: first request {timings[0]:0.0} ms, the next nine at most {timings.Skip(1).Max():0.0} ms, synchronous Get {syncWatch.Elapsed.TotalMilliseconds:0.0} ms.");
        // The first request waits at most for the first connect attempt (StackExchange.Redis may wait the whole
        // connect timeout even on a refused port), plus one-time start-up costs; the multiplexer then exists and
        // the FailFast backlog fails every command at once while it reconnects in the background.
        Assert.InRange(timings[0], 0, RedisConnectionSettingsLimit + 1000);
        Assert.All(timings.Skip(1), ms => Assert.InRange(ms, 0, 250));
        Assert.InRange(syncWatch.Elapsed.TotalMilliseconds, 0, 250);
    }

    [Fact]
    public void Settings_named_in_the_configuration_are_kept_and_the_others_are_derived_from_the_timeout()
    {
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions
        {
            Configuration = "127.0.0.1:1,syncTimeout=1234,abortConnect=true",
            OperationTimeout = TimeSpan.FromSeconds(2),
        });

        var settings = cache.ConnectionSettings!;
        Assert.Equal(1234, settings.SyncTimeout);
        Assert.True(settings.AbortOnConnectFail);
        Assert.Equal(2000, settings.AsyncTimeout);
        Assert.Equal(1000, settings.ConnectTimeout);
        Assert.Equal(1, settings.ConnectRetry);
        Assert.Same(StackExchange.Redis.BacklogPolicy.FailFast, settings.BacklogPolicy);
    }

    [Theory]
    [InlineData("127.0.0.1:1,asyncTimeout=3000", 2000, 3000)]
    [InlineData("127.0.0.1:1,syncTimeout=3000", 3000, 2000)]
    [InlineData("127.0.0.1:1, ASYNCTIMEOUT=3000 ,connectTimeout=400", 2000, 3000)]
    public void A_setting_is_kept_only_when_named_whole_not_as_part_of_another_s_name(string configuration, int syncTimeout, int asyncTimeout)
    {
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = configuration, OperationTimeout = TimeSpan.FromSeconds(2) });

        var settings = cache.ConnectionSettings!;
        Assert.Equal(syncTimeout, settings.SyncTimeout);
        Assert.Equal(asyncTimeout, settings.AsyncTimeout);
    }

    [Theory]
    [InlineData("127.0.0.1:1,abortConnect=false", 2000)]
    [InlineData("127.0.0.1:1,connectTimeout=7000", 7000)]
    public void A_tool_s_connection_gets_the_whole_timeout_to_connect_and_fails_if_it_cannot(string configuration, int connectTimeout)
    {
        var given = StackExchange.Redis.ConfigurationOptions.Parse(configuration);

        var settings = SessionStore.Redis.Internal.RedisConnectionSettings.ForTool(given, TimeSpan.FromSeconds(2));

        Assert.Equal(connectTimeout, settings.ConnectTimeout);
        Assert.Equal(1, settings.ConnectRetry);
        Assert.True(settings.AbortOnConnectFail, "a tool must never read a Redis it did not reach as an empty one");
        Assert.Equal(2000, settings.AsyncTimeout);
        Assert.Same(given.BacklogPolicy, settings.BacklogPolicy);
    }
}
