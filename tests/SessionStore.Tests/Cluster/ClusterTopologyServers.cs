using SessionStore.LocalServers;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cluster;

/// <summary>
/// A Redis Cluster of the topology tests' own: they move its slots, fail it over and kill its masters, which the
/// shared <see cref="RedisClusterServer"/> must never see. Each test starts from <see cref="HealthyClusterAsync"/>.
/// </summary>
public sealed class ClusterTopologyServers : IAsyncLifetime
{
    // Long enough that a node a loaded machine leaves unscheduled for a few seconds is not failed over behind a
    // test's back; the node-loss tests' bounds follow it.
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(20);

    private LocalRedisCluster? _cluster;

    public LocalRedisCluster Cluster => _cluster ?? throw ServerRequirement.Unavailable(
        "Redis Cluster", "the topology tests start their own cluster and need redis-server and redis-cli 7", "scripts/install-servers.sh");

    public async ValueTask InitializeAsync()
    {
        if (LocalRedisCluster.FindBinary() is { } binary)
        {
            _cluster = await LocalRedisCluster.StartAsync(binary, NodeTimeout);
        }
    }

    /// <summary>
    /// The cluster, healthy. A cluster a test left unhealthy (a failover a loaded machine did not see through:
    /// CLUSTERDOWN for the whole of the next test) is replaced by a new one, so that one test's trouble is not the
    /// next tests' failure.
    /// </summary>
    public async Task<LocalRedisCluster> HealthyClusterAsync()
    {
        var cluster = Cluster;
        try
        {
            await cluster.WaitUntilHealthyAsync(RecoveryLimit, TestContext.Current.CancellationToken);
            return cluster;
        }
        catch (TimeoutException e)
        {
            TestContext.Current.SendDiagnosticMessage($"The topology tests' cluster was replaced: {e.Message}");
            _cluster = null;
            await cluster.DisposeAsync();
            _cluster = await LocalRedisCluster.StartAsync(LocalRedisCluster.FindBinary()!, NodeTimeout, TestContext.Current.CancellationToken);
            return _cluster;
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
