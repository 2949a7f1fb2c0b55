using SessionStore.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Migration;

/// <summary>
/// The backfill on a Redis Cluster of its own (3 masters, 3 replicas) whose slots move or whose masters fail over
/// under it: it copies every session or says it did not, and resumes whatever order the nodes are named in.
/// </summary>
[Collection(typeof(BackfillCollection))]
public sealed class ClusterBackfillTests(PostgresServer postgres, ITestOutputHelper output)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_backfill_while_slots_move_never_claims_complete_with_sessions_missing()
    {
        await using var redis = await OwnRedisCluster.StartAsync(Token);
        var masters = await redis.Cluster.MastersAsync(Token);

        // One pass only, with 3,000 slots moving during it: the pass cannot be trusted, so the run is not complete.
        using (var onePass = new MigrationScenario(postgres, redis))
        {
            var (result, missing) = await BackfillWhileReshardingAsync(onePass, new BackfillOptions { MaxPasses = 1, BatchSize = 250, RatePerSecond = 5_000 }, () => redis.Cluster.ReshardAsync(3_000, masters[2], masters[0], Token));
            Assert.True(result.TopologyChanged);
            Assert.False(result.Completed, $"one pass with slots moving claimed complete ({missing} missing)");
            Assert.Equal(1, result.Passes);
        }

        // Default passes, slots moving back during the first: the run makes another pass and then has every session.
        using var scenario = new MigrationScenario(postgres, redis);
        var (complete, stillMissing) = await BackfillWhileReshardingAsync(scenario, new BackfillOptions { BatchSize = 250, RatePerSecond = 5_000 }, () => redis.Cluster.ReshardAsync(3_000, masters[0], masters[2], Token));
        Assert.True(complete.TopologyChanged);
        Assert.InRange(complete.Passes, 2, new BackfillOptions().MaxPasses);
        if (complete.Completed)
        {
            Assert.Equal(0, stillMissing);
        }
    }

    [Fact]
    public async Task An_interrupted_backfill_resumes_with_the_nodes_named_in_another_order_and_after_a_failover()
    {
        await using var redis = await OwnRedisCluster.StartAsync(Token);
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(6_000);
        var checkpoint = Path.Combine(Path.GetTempPath(), $"cluster-backfill-{Guid.NewGuid():N}.json");
        var backfill = new BackfillOptions { BatchSize = 250, CheckpointPath = checkpoint };

        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new RedisToPostgresBackfill(Options(scenario, redis.Cluster.Endpoints.Reverse())).RunAsync(
            backfill,
            new SynchronousProgress<BackfillProgress>(p =>
            {
                if (p.Scanned >= 1_500)
                {
                    interrupt.Cancel();
                }
            }),
            interrupt.Token));
        Assert.True(File.Exists(checkpoint));

        // The same nodes in another order: the checkpoint is this backfill's, and the cluster held still.
        var masters = await redis.Cluster.MastersAsync(Token);
        var shuffled = redis.Cluster.Endpoints.OrderBy(e => e.GetHashCode(StringComparison.Ordinal)).ToArray();
        var stillCheckpoint = File.ReadAllText(checkpoint);
        using (var again = CancellationTokenSource.CreateLinkedTokenSource(Token))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new RedisToPostgresBackfill(Options(scenario, shuffled)).RunAsync(
                backfill,
                new SynchronousProgress<BackfillProgress>(p =>
                {
                    Assert.True(p.Resumed);
                    again.Cancel();
                }),
                again.Token));
        }

        // A failover while the backfill is stopped: the pass it resumes started on another topology, so another follows.
        await redis.Cluster.FailoverAsync(await redis.Cluster.ReplicaOfAsync(masters[0], Token), Token);
        var result = await new RedisToPostgresBackfill(Options(scenario, redis.Cluster.Endpoints)).RunAsync(backfill, cancellationToken: Token);

        output.WriteLine($"Resumed after a failover: {result.Passes} passes, {result.Scanned} scanned, {result.Copied} copied, {result.AlreadyPresent} present.");
        Assert.NotEmpty(stillCheckpoint);
        Assert.True(result.Resumed);
        Assert.True(result.Completed);
        Assert.True(result.TopologyChanged);
        Assert.Equal(2, result.Passes);
        Assert.Empty(keys.Except(await scenario.PostgresKeysAsync()));
        Assert.False(File.Exists(checkpoint));
    }

    private async Task<(BackfillProgress Result, int Missing)> BackfillWhileReshardingAsync(MigrationScenario scenario, BackfillOptions options, Func<Task> reshard)
    {
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(20_000);
        Task? resharding = null;

        var result = await new RedisToPostgresBackfill(scenario.Options()).RunAsync(
            options,
            new SynchronousProgress<BackfillProgress>(p =>
            {
                if (resharding is null && p.Scanned >= 2_000)
                {
                    resharding = Task.Run(reshard, Token);
                }
            }),
            Token);
        await resharding!;

        var missing = keys.Except(await scenario.PostgresKeysAsync()).Count();
        output.WriteLine($"MaxPasses {options.MaxPasses}: completed {result.Completed}, {result.Passes} passes, topology changed {result.TopologyChanged}, " +
            $"{result.Scanned} scanned, {result.Copied} copied, {result.AlreadyPresent} present; {missing} of 20,000 not in PostgreSQL; {result.Elapsed.TotalSeconds:F1} s.");
        return (result, missing);
    }

    private static SessionStoreOptions Options(MigrationScenario scenario, IEnumerable<string> endpoints)
    {
        var options = scenario.Options();
        options.Redis.Configuration = string.Join(',', endpoints);
        return options;
    }
}
