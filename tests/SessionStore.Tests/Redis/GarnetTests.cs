using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using SessionStore.Redis;
using SessionStore.Tests.Conformance;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.Redis;

/// <summary>The conformance suite on Microsoft Garnet started with <c>--lua</c>: reads and writes through the scripts.</summary>
public sealed class GarnetSessionCacheConformanceTests(GarnetServer server) : SessionStoreCacheConformanceTests, IClassFixture<GarnetServer>, IDisposable
{
    private readonly RedisSessionCache _cache = new(new RedisSessionCacheOptions
    {
        Configuration = server.Configuration,
        InstanceName = "conformance:",
        UseScripts = true,
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}

/// <summary>
/// The conformance suite on Garnet without <c>--lua</c>, with <see cref="RedisSessionCacheOptions.UseScripts"/>
/// unset: the cache must recognise "Lua scripting support disabled" and fall back to plain commands.
/// </summary>
public sealed class GarnetWithoutLuaSessionCacheConformanceTests(GarnetWithoutLuaServer server) : SessionStoreCacheConformanceTests, IClassFixture<GarnetWithoutLuaServer>, IDisposable
{
    private readonly RedisSessionCache _cache = new(new RedisSessionCacheOptions
    {
        Configuration = server.Configuration,
        InstanceName = "conformance-nolua:",
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}

/// <summary>The conformance suite on Garnet with <c>--lua</c> but <see cref="RedisSessionCacheOptions.UseScripts"/> false: the plain-command path on a server that has scripts.</summary>
public sealed class GarnetScriptsOffSessionCacheConformanceTests(GarnetServer server) : SessionStoreCacheConformanceTests, IClassFixture<GarnetServer>, IDisposable
{
    private readonly RedisSessionCache _cache = new(new RedisSessionCacheOptions
    {
        Configuration = server.Configuration,
        InstanceName = "conformance-scripts-off:",
        UseScripts = false,
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}

/// <summary>Microsoft's RedisCache and ours share entries on Garnet as they do on Redis.</summary>
public sealed class GarnetCacheInteropTests(GarnetServer server) : RedisCacheInteropConformance(server), IClassFixture<GarnetServer>;

/// <summary>What <see cref="RedisSessionCacheOptions.UseScripts"/> does on a Garnet that refuses scripts.</summary>
public sealed class GarnetScriptingTests(GarnetWithoutLuaServer server) : IClassFixture<GarnetWithoutLuaServer>
{
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Unset_the_refusal_is_recognised_logged_once_and_served_without_scripts()
    {
        var logger = new FakeLogger<RedisSessionCache>();
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = server.Configuration }, logger, TimeProvider.System);
        var key = Guid.NewGuid().ToString();

        await cache.SetAsync(key, [7], IdleTimeout, Token);
        Assert.Equal([7], await cache.GetAsync(key, Token));
        Assert.Equal([7], cache.Get(key));
        await cache.RefreshAsync(key, Token);

        var warning = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(SessionStoreEventIds.RedisScriptingUnavailable, warning.Id.Id);
        Assert.Contains("scripting support disabled", warning.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task False_never_sends_a_script_so_nothing_is_refused_or_logged()
    {
        var logger = new FakeLogger<RedisSessionCache>();
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = server.Configuration, UseScripts = false }, logger, TimeProvider.System);
        var key = Guid.NewGuid().ToString();

        await cache.SetAsync(key, [7], IdleTimeout, Token);
        Assert.Equal([7], await cache.GetAsync(key, Token));
        await cache.RefreshAsync(key, Token);

        Assert.Empty(logger.Collector.GetSnapshot());
    }

    [Fact]
    public async Task True_fails_the_call_instead_of_falling_back()
    {
        var logger = new FakeLogger<RedisSessionCache>();
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = server.Configuration, UseScripts = true }, logger, TimeProvider.System);

        var error = await Assert.ThrowsAsync<RedisSessionCacheException>(() => cache.GetAsync(Guid.NewGuid().ToString(), Token));
        Assert.Contains("UseScripts", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<RedisSessionCacheException>(() => cache.SetAsync(Guid.NewGuid().ToString(), [1], IdleTimeout, Token));
        Assert.Empty(logger.Collector.GetSnapshot());
    }

    [Fact]
    public void True_with_a_command_map_that_removes_the_script_commands_is_invalid()
    {
        var configuration = ConfigurationOptions.Parse("127.0.0.1:1");
        configuration.CommandMap = CommandMap.Create(["EVAL", "EVALSHA"], available: false);

        var error = Assert.Throws<OptionsValidationException>(() => new RedisSessionCache(new RedisSessionCacheOptions { ConfigurationOptions = configuration, UseScripts = true }));
        Assert.Contains("UseScripts", error.Message, StringComparison.Ordinal);
        using var detecting = new RedisSessionCache(new RedisSessionCacheOptions { ConfigurationOptions = configuration });
        using var off = new RedisSessionCache(new RedisSessionCacheOptions { ConfigurationOptions = configuration, UseScripts = false });
    }
}

/// <summary>Log out everywhere on Garnet (the per-user index uses <c>EXPIRE … NX</c> / <c>GT</c>), with and without Lua.</summary>
public sealed class GarnetRevokeTests(GarnetServer lua, GarnetWithoutLuaServer noLua) : IClassFixture<GarnetServer>, IClassFixture<GarnetWithoutLuaServer>
{
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Logging_out_a_user_everywhere_deletes_only_that_users_live_sessions(bool withLua)
    {
        IRedisTestServer server = withLua ? lua : noLua;
        var prefix = $"revoke-{Guid.NewGuid():N}:";
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = server.Configuration, InstanceName = prefix, UserIdSessionKey = "UserId" });
        var ada = new[] { Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), Guid.NewGuid().ToString() };
        var bob = Guid.NewGuid().ToString();
        foreach (var key in ada)
        {
            await cache.SetAsync(key, Session("ada"), IdleTimeout, Token);
        }

        await cache.SetAsync(bob, Session("bob"), IdleTimeout, Token);
        await cache.SetAsync(ada[2], Session("bob"), IdleTimeout, Token);
        await cache.RemoveAsync(ada[1], Token);
        var indexTtl = await server.Connection.GetDatabase().KeyTimeToLiveAsync(prefix + "sessionstore:user:ada");
        Assert.NotNull(indexTtl);

        Assert.Equal(1, await cache.RevokeUserSessionsAsync("ada", Token));

        Assert.Null(await cache.GetAsync(ada[0], Token));
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
