using SessionStore.LocalServers;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.Cluster;

/// <summary>The cluster fixture itself: six nodes, three masters with a replica each, slots that move and masters that fail over.</summary>
public sealed class LocalRedisClusterTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Starts_three_masters_with_a_replica_each_and_follows_reshard_and_failover()
    {
        var binary = LocalRedisCluster.FindBinary() ?? throw ServerRequirement.Unavailable("Redis Cluster", "no redis-server on PATH", "apt-get install redis-server");
        await using var cluster = await LocalRedisCluster.StartAsync(binary, cancellationToken: Token);

        var masters = await cluster.MastersAsync(Token);
        Assert.Equal(3, masters.Count);
        Assert.Equal(3, (await cluster.ReplicasAsync(Token)).Count);
        Assert.Equal(LocalRedisCluster.SlotCount, (await Task.WhenAll(masters.Select(m => cluster.SlotCountOfAsync(m, Token)))).Sum());

        await using var connection = await ConnectionMultiplexer.ConnectAsync(cluster.Configuration);
        var database = connection.GetDatabase();
        var keys = Enumerable.Range(0, 200).Select(i => (RedisKey)$"fixture:{i}").ToArray();
        foreach (var key in keys)
        {
            await database.StringSetAsync(key, key.ToString());
        }

        var before = await cluster.SlotCountOfAsync(masters[1], Token);
        await cluster.ReshardAsync(500, masters[0], masters[1], Token);
        Assert.Equal(before + 500, await cluster.SlotCountOfAsync(masters[1], Token));

        var replica = await cluster.ReplicaOfAsync(masters[2], Token);
        await cluster.FailoverAsync(replica, Token);
        Assert.Contains(replica, await cluster.MastersAsync(Token));
        Assert.DoesNotContain(masters[2], await cluster.MastersAsync(Token));

        foreach (var key in keys)
        {
            Assert.Equal(key.ToString(), (string?)await database.StringGetAsync(key));
        }
    }
}
