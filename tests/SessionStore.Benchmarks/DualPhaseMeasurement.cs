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
        var settings = new BenchmarkSettings(sessions, [(Workload.ReadOnly, concurrency, 2_000)], [concurrency], duration, rounds);
        var report = await SessionsMeasurement.RunAsync(settings);
        RunKey Key(string name) => new(name, Workload.ReadOnly, concurrency, 2_000);
        var names = report.Runs.Keys.Select(k => k.Contender).Distinct().ToList();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Read-only, 2 KB, c = {concurrency}, {sessions:N0} sessions, {rounds} rounds of {duration.TotalSeconds:0} s; medians (min–max)"));
        Console.WriteLine("| contender | requests/s | p50 ms | p99 ms |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var name in names.Where(n => Singles.Contains(n) || n.StartsWith("Dual-write", StringComparison.Ordinal)))
        {
            var throughput = report.Throughput(Key(name));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {throughput.Median:N0} ({throughput.Min:N0}–{throughput.Max:N0}) | {report.Latency(Key(name), 50).Median:0.00} | {report.Latency(Key(name), 99).Median:0.00} |"));
        }

        // The slower single store, measured both as the store alone and as the dual-write cache in its single phase.
        var slowerAlone = Math.Min(report.Throughput(Key("SessionStore Redis")).Median, report.Throughput(Key(Contenders.PostgresName)).Median);
        var slowerPhase = Math.Min(report.Throughput(Key("Dual-write RedisOnly")).Median, report.Throughput(Key("Dual-write PostgresOnly")).Median);
        foreach (var phase in new[] { "Dual-write DualWriteRedisPrimary", "Dual-write DualWritePostgresPrimary" })
        {
            var dual = report.Throughput(Key(phase)).Median;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{phase}: {dual / slowerAlone:0.00}× the slower store alone, {dual / slowerPhase:0.00}× the slower single phase"));
        }
    }
}
