using System.Globalization;

namespace SessionStore.Benchmarks;

/// <summary>
/// A quick, focused side-by-side run for PostgreSQL work: read-only and modifying requests at 16 callers, 2 KB
/// sessions, for the PostgreSQL contenders (JSONB, bytea, both commit modes), RedisCache and SessionStore Redis at
/// the matching persistence settings, then the pgbench ceilings of the cache's own upsert. The same harness as
/// <c>report</c> (own tables, reset before every run, interleaved rounds) without the accounting, HTTP and
/// allocation passes, and without writing docs: it prints ratios computed round by round, and the load average.
/// </summary>
internal static class FocusedMeasurement
{
    private static readonly string[] Names =
    [
        Contenders.RedisCacheName,
        "SessionStore Redis",
        Contenders.RedisEverySecondName,
        Contenders.RedisAlwaysName,
        Contenders.PostgresName,
        Contenders.PostgresAsyncName,
        Contenders.PostgresByteaName,
    ];

    public static async Task RunAsync(int sessions, TimeSpan duration, int rounds)
    {
        const int Size = 2_000;
        var loadAtStart = LoadAverage();
        var settings = new BenchmarkSettings(sessions, [(Workload.ReadOnly, 16, Size), (Workload.Modifying, 16, Size)], [16], duration, rounds,
            Include: Names.Contains, Account: false);
        var report = await SessionsMeasurement.RunAsync(settings);
        var invariant = CultureInfo.InvariantCulture;

        Console.WriteLine();
        Console.WriteLine(string.Create(invariant, $"{sessions:N0} sessions of {Size:N0} B, 16 callers, {duration.TotalSeconds:0} s runs, {rounds} interleaved rounds; load average {loadAtStart} at the start, {LoadAverage()} at the end. Ratios: median over rounds of the ratio within the round."));
        foreach (var workload in new[] { Workload.ReadOnly, Workload.Modifying })
        {
            Console.WriteLine();
            Console.WriteLine($"| {workload} | req/s median (min–max) | p99 ms | ÷ RedisCache, same round (min–max) |");
            Console.WriteLine("|---|---:|---:|---:|");
            var baseline = report.Runs[new RunKey(Contenders.RedisCacheName, workload, 16, Size)];
            foreach (var name in Names)
            {
                var runs = report.Runs[new RunKey(name, workload, 16, Size)];
                var throughput = Spread.Of(runs.Select(r => r.Throughput));
                var ratio = Spread.Of(runs.Select((r, i) => r.Throughput / baseline[i].Throughput));
                var p99 = Spread.Of(runs.Select(r => r.Latency.Milliseconds(99)));
                Console.WriteLine(string.Create(invariant, $"| {name} | {throughput.Median:N0} ({throughput.Min:N0}–{throughput.Max:N0}) | {p99.Median:0.00} | {ratio.Median:0.00}× ({ratio.Min:0.00}–{ratio.Max:0.00}) |"));
            }
        }

        Console.WriteLine();
        foreach (var line in Ceilings.WriteTable(report.Ceilings, contender => report.Throughput(new RunKey(contender, Workload.Modifying, 16, Size)).Median))
        {
            Console.WriteLine(line);
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
