using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using SessionStore.Migration;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Tests.Cluster;

/// <summary>
/// The migration on a Redis Cluster: sessions Microsoft's RedisCache wrote, spread over every master, are
/// backfilled into PostgreSQL, the session middleware runs in both dual phases, and <c>verify --full</c> says GO.
/// (Backfill while slots move is the migration tests' concern.)
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ClusterMigrationTests(RedisClusterServer cluster, PostgresServer postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Backfill_from_every_master_copies_every_session_and_verify_says_GO()
    {
        var prefix = $"backfill-{Guid.NewGuid():N}:";
        var table = PostgresServer.UniqueTableName("cluster_backfill");
        var options = new SessionStoreOptions { Phase = SessionStorePhase.DualWriteRedisPrimary };
        options.Postgres.ConnectionString = postgres.ConnectionString;
        options.Postgres.TableName = table;
        options.Postgres.CreateTableIfMissing = true;
        options.Redis.Configuration = cluster.Configuration;
        options.Redis.InstanceName = prefix;
        using (var theirs = new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions { Configuration = cluster.Configuration, InstanceName = prefix })))
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 3000), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Token }, async (i, token) =>
                await theirs.SetAsync($"s{i}", BitConverter.GetBytes(i), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, token));
        }

        using (var postgresCache = new PostgresSessionCache(options.Postgres))
        {
            // Creates the table, as the first request of the dual phase would.
            await postgresCache.RemoveAsync("none", Token);
        }

        var result = await new RedisToPostgresBackfill(options).RunAsync(new BackfillOptions(), cancellationToken: Token);
        var verdict = await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { Full = true }, Token);

        Assert.True(result.Completed, $"{result}");
        Assert.Equal(3000, result.Scanned);
        Assert.Equal(0, result.Errors);
        using var check = new PostgresSessionCache(options.Postgres);
        foreach (var i in new[] { 0, 1, 1499, 2999 })
        {
            Assert.Equal(BitConverter.GetBytes(i), await check.GetAsync($"s{i}", Token));
        }

        Assert.True(verdict.IsReadyForNextPhase, $"{verdict}");
    }

    [Theory]
    [InlineData("DualWriteRedisPrimary")]
    [InlineData("DualWritePostgresPrimary")]
    public async Task The_session_middleware_in_a_dual_phase_loses_no_session_on_the_cluster(string phase)
    {
        // The secondary gets as long as the primary: a loaded machine can hold a healthy store past the short
        // SecondaryTimeout, and what is under test is that nothing it is sent on the cluster fails.
        await using var app = await ClusterSessionApp.StartAsync(cluster.Configuration, postgres, phase, secondaryTimeout: ClusterSessionApp.OperationTimeout);
        await app.CreateSessionsAsync(browsers: 4, sessionsPerBrowser: 50);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var traffic = await app.RunTrafficAsync(browsers: 4, stop.Token);

        Assert.Equal(0, await app.CountLostSessionsAsync());
        Assert.Equal(0, app.Cache.Failures);
        Assert.All(traffic.Visits, v => Assert.True(v.Ok && !v.Lost));
        if (phase == "DualWritePostgresPrimary")
        {
            // Redis is the secondary here: nothing it was sent failed or timed out. (PostgreSQL as a secondary is not under test.)
            Assert.Equal(0, app.DualWrite!.GetStatistics().SecondaryFailures);
        }
    }
}
