using SessionStore.LocalServers;
using StackExchange.Redis;

namespace SessionStore.Tests.TestServers;

/// <summary>
/// A Redis of a test's own, for faults that would fail every other test sharing one: a server that refuses writes,
/// or one paused.
/// </summary>
public static class OwnRedis
{
    public static Task<LocalRedis> StartAsync(CancellationToken token) =>
        LocalRedis.StartAsync(LocalRedis.FindBinary() ?? throw new InvalidOperationException("redis-server is not installed."), token);

    /// <summary>
    /// Makes the server at <paramref name="configuration"/> refuse every write (out of memory under noeviction) while
    /// reads go on; or lifts that. The whole server refuses: only for a Redis of the test's own.
    /// </summary>
    public static async Task RefuseWritesAsync(string configuration, bool refuse)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(configuration + ",allowAdmin=true");
        var server = admin.GetServers()[0];
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await server.ConfigSetAsync("maxmemory", refuse ? "1" : "0");
    }
}
