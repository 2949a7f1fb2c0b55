using System.Globalization;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using SessionStore.LocalServers;
using SessionStore.Redis;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Benchmarks;

/// <summary>
/// Read-only session requests (Get, then Refresh) of RedisSessionCache and Microsoft's RedisCache on one Redis,
/// on a Redis Cluster (3 masters + 3 replicas), on Garnet with <c>--lua</c> and on Garnet without it, all in memory
/// only; rounds interleaved. Prints a table, with the machine's load averages, for docs/redis.md ("Running on Redis
/// Cluster and Garnet").
/// </summary>
internal static class GarnetMeasurement
{
    public static async Task RunAsync(int sessions, int concurrency, TimeSpan duration, int rounds)
    {
        const int Size = 2_000;
        var garnetBinary = LocalGarnet.FindBinary() ?? await LocalGarnet.InstallAsync();
        await using var redis = await LocalRedis.StartAsync(LocalRedis.FindBinary() ?? throw new InvalidOperationException("Redis is not installed: run scripts/install-servers.sh."));
        await using var garnet = await LocalGarnet.StartAsync(garnetBinary, lua: true);
        await using var garnetNoLua = await LocalGarnet.StartAsync(garnetBinary, lua: false);
        await using var cluster = await LocalRedisCluster.StartAsync(LocalRedisCluster.FindBinary()!);
        var servers = new (string Name, string Configuration)[]
        {
            ("Redis", redis.Configuration), ("Redis Cluster 3+3", cluster.Configuration), ("Garnet --lua", garnet.Configuration), ("Garnet, no Lua", garnetNoLua.Configuration),
        };
        Console.WriteLine($"Load average before: {LoadAverage()}");

        var contenders = new List<(string Server, string Cache, IDistributedCache Instance)>();
        foreach (var (name, configuration) in servers)
        {
            contenders.Add((name, "Microsoft RedisCache", new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions { Configuration = configuration, InstanceName = "theirs:" }))));
            contenders.Add((name, "SessionStore Redis", new RedisSessionCache(new RedisSessionCacheOptions { Configuration = configuration, InstanceName = "ours:" })));
        }

        var keys = Enumerable.Range(0, sessions).Select(i => $"s{i:D7}").ToArray();
        var payload = SessionPayloads.Create(Size);
        foreach (var (server, cache, instance) in contenders)
        {
            Console.WriteLine($"Seeding {sessions:N0} sessions of {Size:N0} B for {cache} on {server}…");
            foreach (var chunk in keys.Chunk(256))
            {
                await Task.WhenAll(chunk.Select(k => instance.SetAsync(k, payload, WorkloadRunner.IdleTimeout)));
            }
        }

        var results = contenders.ToDictionary(c => (c.Server, c.Cache), _ => new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var (server, cache, instance) in contenders.Skip(round - 1).Concat(contenders.Take(round - 1)))
            {
                var (requests, _) = await WorkloadRunner.RunAsync(instance, Workload.ReadOnly, concurrency, duration, keys, payload);
                results[(server, cache)].Add(requests / duration.TotalSeconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round}: {server,-16} {cache,-22} {requests / duration.TotalSeconds,9:N0} requests/s"));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Load average after: {LoadAverage()} ({Environment.ProcessorCount} cores)");
        Console.WriteLine($"Read-only requests (Get + Refresh), {concurrency} callers, {sessions:N0} sessions of {Size:N0} B, {duration.TotalSeconds:0} s × {rounds} rounds, median:");
        Console.WriteLine();
        Console.WriteLine("| server | Microsoft RedisCache | SessionStore Redis | ratio |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (name, _) in servers)
        {
            var theirs = Median(results[(name, "Microsoft RedisCache")]);
            var ours = Median(results[(name, "SessionStore Redis")]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {theirs:N0}/s | {ours:N0}/s | {ours / theirs:0.0}× |"));
        }

        foreach (var (_, _, instance) in contenders)
        {
            (instance as IDisposable)?.Dispose();
        }
    }

    /// <summary>The 1, 5 and 15 minute load averages as <c>uptime</c> shows them; the benchmark shares its machine.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
