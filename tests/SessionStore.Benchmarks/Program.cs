using SessionStore.Benchmarks;

var measurements = new Dictionary<string, Func<Task>>(StringComparer.Ordinal)
{
    ["hot-updates"] = HotUpdateMeasurement.RunAsync,
    ["cleanup"] = CleanupMeasurement.RunAsync,
};

if (args.Length != 1 || !measurements.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"Usage: dotnet run -c Release --project tests/SessionStore.Benchmarks -- <{string.Join('|', measurements.Keys)}>");
    return 2;
}

await run();
return 0;
