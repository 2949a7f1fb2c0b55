using StackExchange.Redis;

namespace SessionStore.Tests.TestServers;

/// <summary>
/// What the Redis, Redis Cluster and Garnet test servers share: the configuration string of the server started
/// (or named by the environment variable) and one connection for test code's own raw commands.
/// </summary>
public abstract class RespTestServer(string serverName, string environmentVariable, string howToGetOne)
    : TestServer(serverName, environmentVariable, howToGetOne), IRedisTestServer
{
    private ConnectionMultiplexer? _connection;

    public string Configuration => Address;

    /// <summary>A connection for test code's own raw commands; on a cluster it follows MOVED like any cluster client.</summary>
    public IConnectionMultiplexer Connection => _connection ??= ConnectionMultiplexer.Connect(Configuration + ",allowAdmin=true");

    public override async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}
