using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using SessionStore.LocalServers;

namespace SessionStore.Benchmarks;

/// <summary>The servers' own speed limits, by their own tools, at the same concurrency: a prepared primary-key select, and HGET.</summary>
internal static partial class Ceilings
{
    public static async Task<List<Ceiling>> MeasureAsync(LocalPostgres postgres, LocalRedis redis, string table, string prefix, int sessions, int[] concurrencies)
    {
        var pgbench = Path.Combine(LocalPostgres.FindBinaries()!, "pgbench");
        var script = Path.GetTempFileName();
        await File.WriteAllTextAsync(script, $"""
            \set n random(0, {sessions - 1})
            SELECT sess FROM "public"."{table}" WHERE sid = '00000000-0000-0000-0000-' || lpad(:n::text, 12, '0');
            """);
        var results = new List<Ceiling>();
        try
        {
            foreach (var concurrency in concurrencies)
            {
                Console.Write($"\rceilings c={concurrency}   ");
                var output = await RunAsync(pgbench, ["-n", "-M", "prepared", "-c", $"{concurrency}", "-j", $"{Math.Min(concurrency, Environment.ProcessorCount)}", "-T", "3", "-f", script, "-h", "127.0.0.1", "-p", $"{postgres.Port}", "-U", "postgres", "postgres"]);
                results.Add(new("pgbench", "prepared primary-key SELECT", concurrency, double.Parse(PgbenchTps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture)));

                output = await RunAsync("redis-benchmark", ["-h", "127.0.0.1", "-p", $"{redis.Port}", "-c", $"{concurrency}", "-n", "200000", "-r", $"{sessions}", "-q", "HGET", $"{prefix}00000000-0000-0000-0000-__rand_int__", "data"]);
                results.Add(new("redis-benchmark", "HGET of a session's data", concurrency, double.Parse(RedisRate().Matches(output)[^1].Groups[1].Value, CultureInfo.InvariantCulture)));
            }
        }
        finally
        {
            File.Delete(script);
        }

        Console.WriteLine();
        return results;
    }

    public static async Task<string> RunAsync(string fileName, string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output + error : throw new InvalidOperationException($"{fileName} failed: {output}{error}");
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    public static partial Regex PgbenchTps();

    [GeneratedRegex(@"([0-9.]+) requests per second")]
    private static partial Regex RedisRate();
}
