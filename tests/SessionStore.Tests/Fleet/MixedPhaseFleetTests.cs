using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.DualWrite;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Fleet;

/// <summary>
/// Two instances on the same stores in the two dual phases at once, as during the rolling switch between them: each
/// treats the other's primary as its secondary, so one instance's background comparison can run while the other's
/// write has reached one store and not yet the other. Every write must still be read back from both instances.
/// </summary>
public sealed class MixedPhaseFleetTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Comparisons_of_an_instance_in_the_other_dual_phase_never_undo_a_write()
    {
        var table = PostgresServer.UniqueTableName("mixed");
        var prefix = $"mixed-{Guid.NewGuid():N}:";
        await using var redisPrimary = Instance(table, prefix, SessionStorePhase.DualWriteRedisPrimary);
        await using var postgresPrimary = Instance(table, prefix, SessionStorePhase.DualWritePostgresPrimary);
        var reader = redisPrimary.GetRequiredService<DualWriteCache>();
        var writer = postgresPrimary.GetRequiredService<DualWriteCache>();
        var entryOptions = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) };
        var undone = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);

        // Each key: one loop writes through the PostgreSQL-primary instance and reads its write back from both;
        // another reads through the Redis-primary instance, each read scheduling a comparison of both stores.
        var keys = Enumerable.Range(0, 12).Select(_ => Guid.NewGuid().ToString()).ToList();
        var readers = keys.Select(key => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await reader.GetAsync(key, CancellationToken.None);
                await Task.Delay(1, CancellationToken.None);
            }
        })).ToList();
        await Parallel.ForEachAsync(keys, Token, async (key, token) =>
        {
            for (var i = 0; i < 100; i++)
            {
                var value = Guid.NewGuid().ToByteArray();
                await writer.SetAsync(key, value, entryOptions, token);
                var fromWriter = await writer.GetAsync(key, token);
                var fromReader = await reader.GetAsync(key, token);
                if (!value.SequenceEqual(fromWriter ?? []) || !value.SequenceEqual(fromReader ?? []))
                {
                    Interlocked.Increment(ref undone);
                }
            }
        });
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Equal(0, undone);
    }

    private ServiceProvider Instance(string table, string prefix, SessionStorePhase phase)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = phase.ToString(),
            ["SessionStore:ComparisonSampleRate"] = "1",
            ["SessionStore:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["SessionStore:Postgres:TableName"] = table,
            ["SessionStore:Postgres:CreateTableIfMissing"] = "true",
            ["SessionStore:Redis:Configuration"] = redis.Configuration,
            ["SessionStore:Redis:InstanceName"] = prefix,
        };
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddDualWriteSessionStore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("SessionStore"));
        return services.BuildServiceProvider();
    }
}
