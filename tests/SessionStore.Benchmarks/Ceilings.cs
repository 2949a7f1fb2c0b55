using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using SessionStore.LocalServers;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Benchmarks;

/// <summary>
/// The servers' own speed limits, by their own tools, against the contenders' own data: a prepared primary-key
/// select and HGET at each concurrency, and the cache's own upsert (alone, and after its Get, as a modifying
/// request sends them) with synchronous commit on and off.
/// </summary>
internal static partial class Ceilings
{
    public const string Upsert = "the cache's upsert alone";
    public const string GetAndUpsert = "the cache's Get + upsert (a modifying request)";
    public const string CacheSetAlone = "the cache's SetAsync alone";
    public const string UpsertConcurrencyNote = "16 clients";

    public const string KeyExpression = "'00000000-0000-0000-0000-' || lpad(:n::text, 12, '0')";

    public static async Task<List<Ceiling>> MeasureAsync(BenchmarkServers servers, string readOnlyTag, string modifyingTag, int sessions, int payloadSize, int[] concurrencies)
    {
        var pgbench = Path.Combine(LocalPostgres.FindBinaries()!, "pgbench");
        string readTable, writeTable, prefix;
        using (var readers = new Contenders(servers, readOnlyTag))
        using (var writers = new Contenders(servers, modifyingTag))
        {
            var reader = readers.All.Single(c => c.Name == Contenders.PostgresName);
            readTable = reader.Table!;
            prefix = readers.All.Single(c => c.Name == Contenders.RedisCacheName).Redis!.Prefix;
            var writer = writers.All.Single(c => c.Name == Contenders.PostgresName);
            writeTable = writer.Table!;
            await SessionsMeasurement.PrepareAsync(servers.Admin, reader, Enumerable.Range(0, sessions).Select(SessionsMeasurement.Key).ToArray());
        }

        var results = new List<Ceiling>();
        foreach (var concurrency in concurrencies)
        {
            Console.Write($"\rceilings c={concurrency}   ");
            results.Add(new("pgbench", "prepared primary-key SELECT", concurrency, await PgbenchAsync(pgbench, servers.Postgres.Port, concurrency, 3,
                $"SELECT sess FROM \"public\".\"{readTable}\" WHERE sid = {KeyExpression};", sessions)));
            var redis = servers.Redis[RedisPersistence.None].Server;
            var output = await RunAsync("redis-benchmark", ["-h", "127.0.0.1", "-p", $"{redis.Port}", "-c", $"{concurrency}", "-n", "200000", "-r", $"{sessions}", "-q", "HGET", $"{prefix}00000000-0000-0000-0000-__rand_int__", "data"]);
            results.Add(new("redis-benchmark", "HGET of a session's data", concurrency, double.Parse(RedisRate().Matches(output)[^1].Groups[1].Value, CultureInfo.InvariantCulture)));
        }

        results.AddRange(await UpsertCeilingsAsync(servers, pgbench, writeTable, sessions, payloadSize));
        Console.WriteLine();
        return results;
    }

    /// <summary>
    /// The statements the cache sends for a modifying request, run by pgbench at 16 clients on the modifying
    /// workload's table (reset first), the session's JSON passed as a parameter as the cache passes it; then the
    /// cache's own SetAsync alone on the same table.
    /// </summary>
    private static async Task<List<Ceiling>> UpsertCeilingsAsync(BenchmarkServers servers, string pgbench, string table, int sessions, int payloadSize)
    {
        var sql = new PostgresSql("public", table);
        var json = await AdminCommands.ScalarAsync<string>(servers.Admin, $"SELECT sess::text FROM \"public\".\"{table}\" LIMIT 1");
        var upsert = Bind(sql.Set, ("$1", KeyExpression), ("$2", ":sess::jsonb"), ("$3", "NULL::text"), ("$4", "interval '20 minutes'"), ("$5", "NULL::timestamptz"), ("$6", "NULL::interval"));
        var get = Bind(sql.Get, ("$1", KeyExpression));
        var results = new List<Ceiling>();
        async Task ResetAsync()
        {
            await AdminCommands.ExecuteAsync(servers.Admin, $"VACUUM FULL \"public\".\"{table}\"");
            await AdminCommands.ExecuteAsync(servers.Admin, "CHECKPOINT");
        }

        foreach (var synchronous in new[] { true, false })
        {
            var setting = synchronous ? "synchronous_commit on" : "synchronous_commit off";
            foreach (var (what, script) in new[] { (Upsert, upsert + ";"), (GetAndUpsert, get + ";\n" + upsert + ";") })
            {
                Console.Write($"\rceilings {what}, {setting}   ");
                await ResetAsync();

                results.Add(new("pgbench", $"{what}, {setting}", 16, await PgbenchAsync(pgbench, servers.Postgres.Port, 16, 3, script, sessions,
                    [("PGOPTIONS", $"-c synchronous_commit={(synchronous ? "on" : "off")}")], ["-D", $"sess={json}"])));
            }

            Console.Write($"\rceilings {CacheSetAlone}, {setting}   ");
            await ResetAsync();
            results.Add(new("SessionStore PostgreSQL", $"{CacheSetAlone}, {setting}", 16, await CacheSetAloneAsync(servers, table, synchronous, sessions, payloadSize)));
        }

        return results;
    }

    /// <summary>The write ceilings against the cache's modifying requests (<paramref name="modifying"/>: a contender's req/s) and its SetAsync alone, as Markdown rows.</summary>
    public static IEnumerable<string> WriteTable(List<Ceiling> ceilings, Func<string, double> modifying)
    {
        double Rate(string what, string setting) => ceilings.Single(c => c.What == $"{what}, synchronous_commit {setting}").OperationsPerSecond;

        yield return "| synchronous_commit | pgbench: upsert alone | pgbench: Get + upsert | cache: modifying req/s | cache ÷ upsert alone | cache ÷ Get + upsert | cache: SetAsync alone | SetAsync ÷ upsert alone |";
        yield return "|---|---:|---:|---:|---:|---:|---:|---:|";
        foreach (var (setting, contender) in new[] { ("on", Contenders.PostgresName), ("off", Contenders.PostgresAsyncName) })
        {
            var (upsert, both, set, cache) = (Rate(Upsert, setting), Rate(GetAndUpsert, setting), Rate(CacheSetAlone, setting), modifying(contender));
            yield return string.Create(CultureInfo.InvariantCulture,
                $"| {setting} | {upsert:N0} | {both:N0} | {cache:N0} | {cache / upsert:0.00}× | {cache / both:0.00}× | {set:N0} | {set / upsert:0.00}× |");
        }
    }

    /// <summary>
    /// The cache's own upsert as pgbench runs it above: SetAsync of the table's sessions at random, 16 callers, 3 s
    /// after a 1 s warm-up, in the commit mode pgbench had. Like for like, it shows what the client adds to the statement.
    /// </summary>
    private static async Task<double> CacheSetAloneAsync(BenchmarkServers servers, string table, bool synchronous, int sessions, int payloadSize)
    {
        using var cache = new PostgresSessionCache(Options.Create(new PostgresSessionCacheOptions
        {
            ConnectionString = servers.Postgres.ConnectionString,
            TableName = table,
            SynchronousCommit = synchronous ? PostgresSynchronousCommit.ServerSetting : PostgresSynchronousCommit.Off,
        }));
        var keys = Enumerable.Range(0, sessions).Select(SessionsMeasurement.Key).ToArray();
        var payload = SessionPayloads.Create(payloadSize);
        await WorkloadRunner.RunAsync(cache, Workload.Write, 16, TimeSpan.FromSeconds(1), keys, payload);
        var (requests, _) = await WorkloadRunner.RunAsync(cache, Workload.Write, 16, TimeSpan.FromSeconds(3), keys, payload);
        return requests / 3.0;
    }

    public static async Task<double> PgbenchAsync(string pgbench, int port, int clients, int seconds, string statements, int sessions, (string Name, string Value)[]? environment = null, string[]? extra = null, string protocol = "prepared")
    {
        var script = Path.GetTempFileName();
        await File.WriteAllTextAsync(script, $"\\set n random(0, {sessions - 1})\n{statements}\n");
        try
        {
            var output = await RunAsync(pgbench, ["-n", "-M", protocol, "-c", $"{clients}", "-j", $"{Math.Min(clients, Environment.ProcessorCount)}", "-T", $"{seconds}", "-f", script, .. extra ?? [], "-h", "127.0.0.1", "-p", $"{port}", "-U", "postgres", "postgres"], environment);
            return double.Parse(PgbenchTps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>A statement of the cache with its parameters replaced by pgbench expressions, on one line per statement.</summary>
    public static string Bind(string statement, params (string Parameter, string Expression)[] parameters)
    {
        // Highest numbers first, so that $1 does not eat the start of $10.
        foreach (var (parameter, expression) in parameters.OrderByDescending(p => p.Parameter.Length).ThenByDescending(p => p.Parameter, StringComparer.Ordinal))
        {
            statement = statement.Replace(parameter, expression, StringComparison.Ordinal);
        }

        return string.Join(' ', statement.Split('\n', StringSplitOptions.TrimEntries));
    }

    public static async Task<string> RunAsync(string fileName, string[] arguments, (string Name, string Value)[]? environment = null)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? await output + await error : throw new InvalidOperationException($"{fileName} failed: {await output}{await error}");
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    public static partial Regex PgbenchTps();

    [GeneratedRegex(@"([0-9.]+) requests per second")]
    private static partial Regex RedisRate();
}
