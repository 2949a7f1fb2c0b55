using HdrHistogram;

namespace SessionStore.Benchmarks;

/// <param name="Include">Which contenders run (null: all); a focused run names a few.</param>
/// <param name="Account">Whether the accounting pass (statements, rows and WAL per request) runs.</param>
internal sealed record BenchmarkSettings(int Sessions, IReadOnlyList<(Workload Workload, int Concurrency, int PayloadSize)> Configurations, int[] Concurrencies, TimeSpan Duration, int Rounds, Func<string, bool>? Include = null, bool Account = true);

internal sealed record RunKey(string Contender, Workload Workload, int Concurrency, int PayloadSize);

/// <summary>One measured run of one contender in one round, with the state of its table as the run started.</summary>
internal sealed record RoundResult(long Requests, TimeSpan Time, LongHistogram Latency, TableState? State)
{
    public double Throughput => Requests / Time.TotalSeconds;
}

internal sealed record Accounting(string Contender, Workload Workload, long Requests, double Statements, double RedisCommands, double RowsWritten, double WalBytesPerThousand, double? HotRatio);

internal sealed record Ceiling(string Tool, string What, int Concurrency, double OperationsPerSecond);

/// <summary>A median over rounds and the spread around it.</summary>
internal readonly record struct Spread(double Median, double Min, double Max)
{
    public static Spread Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return new Spread(double.NaN, double.NaN, double.NaN);
        }

        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        return new Spread(median, sorted[0], sorted[^1]);
    }
}

internal sealed class SessionsReport(BenchmarkSettings settings, string postgresVersion, string redisInfo)
{
    public BenchmarkSettings Settings { get; } = settings;

    public string PostgresVersion { get; } = postgresVersion;

    public string RedisVersion { get; } = redisInfo.Split('\n').FirstOrDefault(l => l.StartsWith("redis_version:", StringComparison.Ordinal))?.Trim()["redis_version:".Length..] ?? "?";

    public Dictionary<RunKey, List<RoundResult>> Runs { get; } = [];

    public Dictionary<string, string> Durability { get; } = [];

    public List<Accounting> Accounting { get; } = [];

    public List<Ceiling> Ceilings { get; } = [];

    public void Add(RunKey key, string durability, RoundResult result)
    {
        Durability[key.Contender] = durability;
        if (!Runs.TryGetValue(key, out var rounds))
        {
            Runs[key] = rounds = [];
        }

        rounds.Add(result);
    }

    public Spread Throughput(RunKey key) => Spread.Of(Rounds(key).Select(r => r.Throughput));

    /// <summary>The percentile of each round's latency, in milliseconds, as median and spread over the rounds.</summary>
    public Spread Latency(RunKey key, double percentile) => Spread.Of(Rounds(key).Select(r => r.Latency.Milliseconds(percentile)));

    public TableState? State(RunKey key) => Rounds(key).LastOrDefault()?.State;

    private List<RoundResult> Rounds(RunKey key) => Runs.TryGetValue(key, out var rounds) ? rounds : [];
}
