using SessionStore.LocalServers;
using Testcontainers.Redis;

namespace SessionStore.Tests.TestServers;

/// <summary>The Redis server of the tests; <c>SESSIONSTORE_TEST_REDIS</c> names one of your own (a StackExchange.Redis configuration string).</summary>
public sealed class RedisServer() : RespTestServer(
    "Redis",
    EnvironmentVariable,
    $"Set {EnvironmentVariable} to a StackExchange.Redis configuration string, install Redis (apt-get install redis-server), or start a Docker engine.")
{
    public const string EnvironmentVariable = "SESSIONSTORE_TEST_REDIS";


    protected override async Task<(IAsyncDisposable Server, string Address)?> StartLocalAsync(List<string> reasons)
    {
        if (LocalRedis.FindBinary() is not { } binary)
        {
            reasons.Add("no redis-server on PATH");
            return null;
        }

        var local = await LocalRedis.StartAsync(binary);
        return (local, local.Configuration);
    }

    protected override async Task<(IAsyncDisposable Server, string Address)?> StartContainerAsync(List<string> reasons)
    {
        var container = new RedisBuilder("redis:7-alpine").Build();
        await container.StartAsync();
        return (container, container.GetConnectionString());
    }
}
