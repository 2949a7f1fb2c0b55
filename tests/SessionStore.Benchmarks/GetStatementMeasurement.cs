using System.Globalization;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.LocalServers;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Benchmarks;

/// <summary>
/// Where the PostgreSQL read's time goes, by pgbench on the server alone (no .NET in the loop): a plain
/// primary-key select, the cache's one-statement Get (a lazy-touch UPDATE in a CTE, then the read), and the
/// read with the touch decision returned instead of made. 10,000 sessions of 2 KB, none due for a touch.
/// </summary>
internal static class GetStatementMeasurement
{
    public static async Task RunAsync()
    {
        await using var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries()!, durable: true);
        var options = new PostgresCacheOptions { ConnectionString = postgres.ConnectionString, TableName = "sessions", CreateTableIfMissing = true };
        using (var cache = new PostgresCache(options))
        {
            var payload = SessionPayloads.Create(2_000);
            await Parallel.ForEachAsync(Enumerable.Range(0, 10_000), async (i, token) =>
                await cache.SetAsync($"00000000-0000-0000-0000-{i:D12}", payload, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, token));
        }

        var sql = new PostgresSql("public", "sessions");
        var key = "'00000000-0000-0000-0000-' || lpad(:n::text, 12, '0')";
        var statements = new (string Name, string Sql)[]
        {
            ("primary-key SELECT of sess", $"SELECT sess FROM \"public\".\"sessions\" WHERE sid = {key}"),
            ("SessionStore Get (touch CTE + read)", sql.Get.Replace("$1", key, StringComparison.Ordinal).Replace("$2", "0.1::float8", StringComparison.Ordinal)),
            ("read with the touch decision as a column", $"""
                SELECT sess, CASE WHEN isfinite(expire) THEN expire - now() END, sliding_expiration, absolute_expire - now(),
                       least(now() + sliding_expiration, absolute_expire) - expire > sliding_expiration * 0.1
                FROM "public"."sessions" WHERE sid = {key} AND expire > now()
                """),
        };

        Console.WriteLine("| statement (pgbench -M prepared, 16 clients, 5 s) | transactions/s |");
        Console.WriteLine("|---|---:|");
        foreach (var (name, text) in statements)
        {
            var script = Path.GetTempFileName();
            await File.WriteAllTextAsync(script, "\\set n random(0, 9999)\n" + string.Join(' ', text.Split('\n', StringSplitOptions.TrimEntries)) + ";\n");
            var output = await Ceilings.RunAsync(Path.Combine(LocalPostgres.FindBinaries()!, "pgbench"),
                ["-n", "-M", "prepared", "-c", "16", "-j", "2", "-T", "5", "-f", script, "-h", "127.0.0.1", "-p", $"{postgres.Port}", "-U", "postgres", "postgres"]);
            File.Delete(script);
            Console.WriteLine($"| {name} | {double.Parse(Ceilings.PgbenchTps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture):N0} |");
        }
    }
}
