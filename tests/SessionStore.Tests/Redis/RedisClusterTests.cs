using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Redis;
using SessionStore.Tests.Conformance;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Redis;

/// <summary>The conformance suite on a Redis Cluster (3 masters, 3 replicas): reads and writes through the scripts, each on one slot.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterSessionCacheConformanceTests(RedisClusterServer server) : SessionStoreCacheConformanceTests, IDisposable
{
    private readonly RedisSessionCache _cache = new(new RedisSessionCacheOptions
    {
        Configuration = server.Configuration,
        InstanceName = "conformance:",
        UserIdSessionKey = "UserId",
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}

/// <summary>The conformance suite on a Redis Cluster with scripting refused by the command map: pipelined reads, single-key transactions for writes.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterWithoutScriptingConformanceTests(RedisClusterServer server) : SessionStoreCacheConformanceTests, IDisposable
{
    private readonly RedisSessionCache _cache = new(new RedisSessionCacheOptions
    {
        ConfigurationOptions = RedisSessionCacheWithoutScriptingConformanceTests.WithoutScripting(server.Configuration),
        InstanceName = "conformance-noscript:",
        UserIdSessionKey = "UserId",
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}

/// <summary>Microsoft's RedisCache and ours share entries on a Redis Cluster as they do on one Redis.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterCacheInteropTests(RedisClusterServer server) : RedisCacheInteropConformance(server);

/// <summary>
/// Log out everywhere on a Redis Cluster: the user's index and each session hash to different slots, so every
/// command names one key (no CROSSSLOT), with and without scripts.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterRevokeTests(RedisClusterServer server)
{
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Logging_out_a_user_everywhere_deletes_only_that_users_live_sessions_across_slots(bool scripts)
    {
        var prefix = $"revoke-{Guid.NewGuid():N}:";
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = server.Configuration, InstanceName = prefix, UserIdSessionKey = "UserId", UseScripts = scripts });
        var ada = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid().ToString()).ToArray();
        var bob = Guid.NewGuid().ToString();
        foreach (var key in ada)
        {
            await cache.SetAsync(key, Session("ada"), IdleTimeout, Token);
        }

        await cache.SetAsync(bob, Session("bob"), IdleTimeout, Token);
        await cache.SetAsync(ada[2], Session("bob"), IdleTimeout, Token);
        await cache.RemoveAsync(ada[1], Token);
        var slots = ada.Select(k => server.Connection.GetDatabase().Multiplexer.HashSlot(prefix + k)).Distinct().Count();
        Assert.True(slots > 10, $"The sessions should spread over slots; {slots} distinct.");
        Assert.NotNull(await server.Connection.GetDatabase().KeyTimeToLiveAsync(prefix + "sessionstore:user:ada"));

        Assert.Equal(18, await cache.RevokeUserSessionsAsync("ada", Token));

        Assert.All(ada.Where((_, i) => i != 2), key => Assert.Null(cache.Get(key)));
        Assert.NotNull(await cache.GetAsync(ada[2], Token));
        Assert.NotNull(await cache.GetAsync(bob, Token));
        // The deleted members stay until the next revoke finds them gone (a write racing the revoke may re-create one).
        Assert.True(await server.Connection.GetDatabase().KeyExistsAsync(prefix + "sessionstore:user:ada"));
        Assert.Equal(0, await cache.RevokeUserSessionsAsync("ada", Token));
        Assert.False(await server.Connection.GetDatabase().KeyExistsAsync(prefix + "sessionstore:user:ada"));
    }

    private static byte[] Session(string userId) =>
        new SessionStore.Tests.Internal.TestSessionPayload(Guid.NewGuid().ToByteArray(), [new("UserId", System.Text.Encoding.UTF8.GetBytes(userId))]).ToBytes();
}
