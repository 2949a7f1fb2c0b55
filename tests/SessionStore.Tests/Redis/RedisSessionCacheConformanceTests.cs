using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Redis;
using SessionStore.Tests.Conformance;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.Redis;

/// <summary>The provider as it normally runs: reads through the Lua script.</summary>
public sealed class RedisSessionCacheConformanceTests(RedisServer server) : SessionStoreCacheConformanceTests, IDisposable
{
    private readonly RedisSessionCache _cache = new(new RedisSessionCacheOptions
    {
        Configuration = server.Configuration,
        InstanceName = "conformance:",
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}

/// <summary>The provider where scripting is forbidden (here by the client's command map, as managed services configure it).</summary>
public sealed class RedisSessionCacheWithoutScriptingConformanceTests(RedisServer server) : SessionStoreCacheConformanceTests, IDisposable
{
    private readonly RedisSessionCache _cache = new(new RedisSessionCacheOptions
    {
        ConfigurationOptions = WithoutScripting(server.Configuration),
        InstanceName = "conformance-noscript:",
    });

    protected override IDistributedCache Cache => _cache;

    public static ConfigurationOptions WithoutScripting(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.CommandMap = CommandMap.Create(["EVAL", "EVALSHA", "SCRIPT"], available: false);
        return options;
    }

    public void Dispose() => _cache.Dispose();
}
