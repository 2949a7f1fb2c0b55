using System.Globalization;

namespace SessionStore.Benchmarks;

/// <summary>
/// Read-only requests in each dual-write phase against the slower of its two stores alone (issue 12, item 4: at
/// least 0.8×): the side-by-side harness restricted to read-only requests of 2 KB sessions, with the figures the
/// comparison needs printed as a table.
/// </summary>
internal static class DualPhaseMeasurement
{
    private static readonly string[] Singles = [Contenders.RedisCacheName, "SessionStore Redis", Contenders.PostgresName, "Dual-write RedisOnly", "Dual-write PostgresOnly"];

    public static async Task RunAsync(int sessions, int concurrency, TimeSpan duration, int rounds)
    {
        const int Size = 2_000;
        await using var servers = await BenchmarkServers.StartAsync();
        using var set = new Contenders(servers, SessionsMeasurement.Tag(Workload.ReadOnly, Size) + "_dual");
        var contenders = set.All.Where(c => Singles.Contains(c.Name) || c.Name.StartsWith("Dual-write", StringComparison.Ordinal)).ToList();
        var keys = Enumerable.Range(0, sessions).Select(SessionsMeasurement.Key).ToArray();
        var payload = SessionPayloads.Create(Size);
        Console.WriteLine($"Seeding {sessions:N0} sessions of {Size:N0} bytes through each contender…");
        foreach (var contender in contenders)
        {
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) => await contender.Cache.SetAsync(key, payload, WorkloadRunner.IdleTimeout, token));
        }

        await servers.EnablePersistenceAsync();
        var throughput = contenders.ToDictionary(c => c.Name, _ => new List<double>());
        var p99 = contenders.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            // Rotated each round, so that no contender always runs right after the same neighbour.
            foreach (var contender in contenders.Skip(round - 1).Concat(contenders.Take(round - 1)))
            {
                Console.Write($"\rround {round}/{rounds}  {contender.Name,-50}");
                await SessionsMeasurement.PrepareAsync(servers.Admin, contender, keys, newSessionsWritten: false);
                var (requests, latency) = await WorkloadRunner.RunAsync(contender.Cache, Workload.ReadOnly, concurrency, duration, keys, payload);
                throughput[contender.Name].Add(requests / duration.TotalSeconds);
                p99[contender.Name].Add(latency.Milliseconds(99));
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Read-only (GetAsync + RefreshAsync), 2 KB, c = {concurrency}, {sessions:N0} sessions, {rounds} rounds of {duration.TotalSeconds:0} s; medians (min–max)"));
        Console.WriteLine("| contender | requests/s | p99 ms |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var contender in contenders)
        {
            var t = Spread.Of(throughput[contender.Name]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {contender.Name} | {t.Median:N0} ({t.Min:N0}–{t.Max:N0}) | {Spread.Of(p99[contender.Name]).Median:0.00} |"));
        }

        // The slower single store, measured both as the store alone and as the dual-write cache in its single phase.
        double Median(string name) => Spread.Of(throughput[name]).Median;
        var slowerAlone = Math.Min(Median("SessionStore Redis"), Median(Contenders.PostgresName));
        var slowerPhase = Math.Min(Median("Dual-write RedisOnly"), Median("Dual-write PostgresOnly"));
        foreach (var phase in new[] { "Dual-write DualWriteRedisPrimary", "Dual-write DualWritePostgresPrimary" })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{phase}: {Median(phase) / slowerAlone:0.00}× the slower store alone, {Median(phase) / slowerPhase:0.00}× the slower single phase"));
        }
    }
}
