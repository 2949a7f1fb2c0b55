using SessionStore.LocalServers;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cluster;

/// <summary>
/// A Redis Cluster of the topology tests' own: they move its slots, fail it over and kill its masters, which the
/// shared <see cref="RedisClusterServer"/> must never see. Each test leaves it healthy for the next.
/// </summary>
public sealed class ClusterTopologyServers : IAsyncLifetime
{
    private LocalRedisCluster? _cluster;

    public LocalRedisCluster Cluster => _cluster ?? throw ServerRequirement.Unavailable(
        "Redis Cluster", "the topology tests start their own cluster and need redis-server and redis-cli 7", "scripts/install-servers.sh");

    public async ValueTask InitializeAsync()
    {
        if (LocalRedisCluster.FindBinary() is { } binary)
        {
            _cluster = await LocalRedisCluster.StartAsync(binary);
        }
    }

    /// <summary>The master with the most slots and the one with the fewest: resharding between them keeps every test's move possible.</summary>
    public async Task<(LocalRedisClusterNode From, LocalRedisClusterNode To)> ReshardPairAsync()
    {
        var token = TestContext.Current.CancellationToken;
        var masters = await Cluster.MastersAsync(token);
        var counts = await Task.WhenAll(masters.Select(async m => (Master: m, Slots: await Cluster.SlotCountOfAsync(m, token))));
        return (counts.MaxBy(c => c.Slots).Master, counts.MinBy(c => c.Slots).Master);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
