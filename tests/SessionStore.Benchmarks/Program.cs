using System.Diagnostics;
using SessionStore.Benchmarks;

// Measurements, not tests. `report` runs the side-by-side harness and rewrites docs/benchmarks.md and its charts;
// the others print the tables behind docs/postgres.md (hot-updates), docs/cleanup.md (cleanup) and the
// analysis in docs/benchmarks.md (get-statement, large).
var measurements = new Dictionary<string, Func<string[], Task>>(StringComparer.Ordinal)
{
    ["report"] = ReportAsync,
    ["hot-updates"] = _ => HotUpdateMeasurement.RunAsync(),
    ["cleanup"] = _ => CleanupMeasurement.RunAsync(),
    ["get-statement"] = _ => GetStatementMeasurement.RunAsync(),
    ["toast"] = _ => ToastMeasurement.RunAsync(),
    ["focus"] = options => FocusedMeasurement.RunAsync(Option(options, "--sessions", 10_000), TimeSpan.FromSeconds(Option(options, "--seconds", 3)), Option(options, "--rounds", 3)),
    ["allocations"] = _ => AllocationsAsync(),
    ["garnet"] = options => GarnetMeasurement.RunAsync(Option(options, "--sessions", 10_000), Option(options, "--concurrency", 16), TimeSpan.FromSeconds(Option(options, "--seconds", 5)), Option(options, "--rounds", 3)),
    ["dual"] = options => DualPhaseMeasurement.RunAsync(Option(options, "--sessions", 10_000), Option(options, "--concurrency", 16), TimeSpan.FromSeconds(Option(options, "--seconds", 3)), Option(options, "--rounds", 3)),
    ["http"] = options => HttpMeasurement.PrintAsync([Option(options, "--concurrency", 16), 64], TimeSpan.FromSeconds(Option(options, "--seconds", 10))),
    ["sync-burst"] = options => SynchronousBurstMeasurement.RunAsync(options.Length > 0 ? options[0] : "sessionstore-redis", 10),
    ["large"] = options => LargeTableMeasurement.RunAsync(options.Length > 1 && options[0] == "--sessions" ? int.Parse(options[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000),
};

if (args.Length == 0 || !measurements.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"Usage: dotnet run -c Release --project tests/SessionStore.Benchmarks -- <{string.Join('|', measurements.Keys)}> [--sessions N] [--seconds N] [--rounds N] [--concurrency N]");
    return 2;
}

await run(args[1..]);
return 0;

static async Task ReportAsync(string[] options)
{
    int Option(string name, int fallback) =>
        Array.IndexOf(options, name) is var i and >= 0 && i + 1 < options.Length ? int.Parse(options[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;

    var stopwatch = Stopwatch.StartNew();
    var loadAtStart = LoadAverage();
    const int Small = 2_000;
    const int Large = 20_000;
    int[] concurrencies = [1, 16, 64];
    var settings = new BenchmarkSettings(
        Sessions: Option("--sessions", 10_000),
        Configurations:
        [
            .. concurrencies.Select(c => (Workload.ReadOnly, c, Small)),
            (Workload.Modifying, 16, Small),
            (Workload.NewSession, 16, Small),
            (Workload.ReadOnly, 16, Large),
        ],
        Concurrencies: concurrencies,
        Duration: TimeSpan.FromSeconds(Option("--seconds", 2)),
        Rounds: Option("--rounds", 3));
    var sessions = await SessionsMeasurement.RunAsync(settings);
    var http = await HttpMeasurement.RunAsync([16, 64], HttpMeasurement.Measured);
    var allocations = AllocationBenchmarks.Run();
    var command = "dotnet run -c Release --project tests/SessionStore.Benchmarks -- report" + (options.Length > 0 ? " " + string.Join(' ', options) : "");
    new BenchmarkReport(sessions, allocations, http, command, stopwatch.Elapsed, (loadAtStart, LoadAverage())).Write(FindDocs());
    Console.WriteLine($"Wrote docs/benchmarks.md in {stopwatch.Elapsed.TotalMinutes:0.0} minutes.");
}

static int Option(string[] options, string name, int fallback) =>
    Array.IndexOf(options, name) is var i and >= 0 && i + 1 < options.Length ? int.Parse(options[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

static Task AllocationsAsync()
{
    Console.WriteLine("| operation | mean | allocated per operation |");
    Console.WriteLine("|---|---:|---:|");
    foreach (var (name, mean, allocated) in AllocationBenchmarks.Run())
    {
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"| {name} | {mean / 1000:0.0} µs | {allocated:N0} B |"));
    }

    return Task.CompletedTask;
}

static string FindDocs()
{
    for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "SessionStore.sln")))
        {
            return Path.Combine(directory.FullName, "docs");
        }
    }

    throw new InvalidOperationException("Run the harness from inside the repository.");
}
