using SessionStore.LocalServers;

namespace SessionStore.Tests.TestServers;

/// <summary>
/// A Redis Cluster (3 masters, 3 replicas) shared by the tests of <see cref="RedisClusterCollection"/>;
/// <c>SESSIONSTORE_TEST_REDIS_CLUSTER</c> names one of your own (a StackExchange.Redis configuration string
/// listing its nodes). Tests that move slots or kill nodes start a cluster of their own instead.
/// </summary>
public sealed class RedisClusterServer() : RespTestServer(
    "Redis Cluster",
    EnvironmentVariable,
    $"Set {EnvironmentVariable} to a StackExchange.Redis configuration string listing the cluster's nodes, or install Redis 7 (apt-get install redis-server, which brings redis-cli).")
{
    public const string EnvironmentVariable = "SESSIONSTORE_TEST_REDIS_CLUSTER";


    protected override async Task<(IAsyncDisposable Server, string Address)?> StartLocalAsync(List<string> reasons)
    {
        if (LocalRedisCluster.FindBinary() is not { } binary)
        {
            reasons.Add("no redis-server on PATH");
            return null;
        }

        // No test kills a node of this cluster, so nothing needs a quick failover: a long node timeout keeps a node
        // that a loaded machine leaves unscheduled for a few seconds from being failed over under the other tests.
        var local = await LocalRedisCluster.StartAsync(binary, nodeTimeout: TimeSpan.FromSeconds(15));
        return (local, local.Configuration);
    }

    protected override Task<(IAsyncDisposable Server, string Address)?> StartContainerAsync(List<string> reasons)
    {
        reasons.Add("no container fallback for a Redis Cluster");
        return Task.FromResult<(IAsyncDisposable, string)?>(null);
    }
}
