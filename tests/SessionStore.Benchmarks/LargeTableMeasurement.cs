using Npgsql;
using SessionStore.LocalServers;
using StackExchange.Redis;

namespace SessionStore.Benchmarks;

/// <summary>
/// Read-only session requests with 1,000,000 live sessions of 2 KB in each store (the report runs 10,000): does
/// the table's size change the picture? 16 callers, interleaved rounds, the three single-store caches.
/// </summary>
internal static class LargeTableMeasurement
{
    private static readonly string[] Measured = [Contenders.RedisCacheName, "SessionStore Redis", "SessionStore PostgreSQL"];

    public static async Task RunAsync(int sessions)
    {
        await using var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries()!, durable: true);
        await using var redisServer = await LocalRedis.StartAsync(LocalRedis.FindBinary()!);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisServer.Configuration);
        var keys = Enumerable.Range(0, sessions).Select(i => $"00000000-0000-0000-0000-{i:D12}").ToArray();
        var payload = SessionPayloads.Create(2_000);
        using var contenders = new Contenders(postgres.ConnectionString, "sessions", redis, redisServer.Configuration, "s:");
        var caches = contenders.All.Where(c => Measured.Contains(c.Name)).ToList();

        var seeded = 0;
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (key, token) =>
        {
            await caches[1].Cache.SetAsync(key, payload, WorkloadRunner.IdleTimeout, token);
            await caches[2].Cache.SetAsync(key, payload, WorkloadRunner.IdleTimeout, token);
            if (Interlocked.Increment(ref seeded) % 50_000 == 0)
            {
                Console.Write($"\rseeded {seeded:N0} of {sessions:N0}");
            }
        });
        await using (var admin = NpgsqlDataSource.Create(postgres.ConnectionString))
        {
            await AdminCommands.ExecuteAsync(admin, "VACUUM ANALYZE \"public\".\"sessions\"");
        }

        Console.WriteLine();
        var results = caches.ToDictionary(c => c.Name, _ => (Requests: 0L, Latency: new HdrHistogram.LongHistogram(HdrHistogram.TimeStamp.Seconds(10), 3)));
        for (var round = 0; round < 2; round++)
        {
            foreach (var contender in caches)
            {
                var (requests, latency) = await WorkloadRunner.RunAsync(contender.Cache, Workload.ReadOnly, 16, TimeSpan.FromSeconds(5), keys, payload);
                results[contender.Name].Latency.Add(latency);
                results[contender.Name] = (results[contender.Name].Requests + requests, results[contender.Name].Latency);
            }
        }

        Console.WriteLine($"Read-only session requests, {sessions:N0} live sessions of 2 KB in each store, 16 callers, 2 interleaved rounds of 5 s:");
        Console.WriteLine();
        Console.WriteLine("| cache | req/s | p50 ms | p99 ms | p99.9 ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (name, (requests, latency)) in results)
        {
            Console.WriteLine($"| {name} | {requests / 10.0:N0} | {latency.Milliseconds(50):0.00} | {latency.Milliseconds(99):0.00} | {latency.Milliseconds(99.9):0.00} |");
        }
    }
}
