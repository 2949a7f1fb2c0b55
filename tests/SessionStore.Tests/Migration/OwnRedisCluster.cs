using SessionStore.LocalServers;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.Migration;

/// <summary>A Redis Cluster of one test's own, for tests that move slots or fail over: the shared one must hold still.</summary>
public sealed class OwnRedisCluster : IRedisTestServer, IAsyncDisposable
{
    private readonly ConnectionMultiplexer _connection;

    private OwnRedisCluster(LocalRedisCluster cluster, ConnectionMultiplexer connection)
    {
        Cluster = cluster;
        _connection = connection;
    }

    public LocalRedisCluster Cluster { get; }

    public string Configuration => Cluster.Configuration;

    public IConnectionMultiplexer Connection => _connection;

    public static async Task<OwnRedisCluster> StartAsync(CancellationToken cancellationToken)
    {
        var binary = LocalRedisCluster.FindBinary() ?? throw ServerRequirement.Unavailable("Redis Cluster", "no redis-server on PATH", "apt-get install redis-server");
        var cluster = await LocalRedisCluster.StartAsync(binary, cancellationToken: cancellationToken);
        return new OwnRedisCluster(cluster, await ConnectionMultiplexer.ConnectAsync(cluster.Configuration + ",allowAdmin=true"));
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
