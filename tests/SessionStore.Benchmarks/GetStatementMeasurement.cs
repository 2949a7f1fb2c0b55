using Microsoft.Extensions.Caching.Distributed;
using SessionStore.LocalServers;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Benchmarks;

/// <summary>
/// Where the PostgreSQL read's time goes, by pgbench on the server alone (no .NET in the loop): a plain
/// primary-key select, the cache's one-statement Get (a lazy-touch UPDATE in a CTE, then the read), the read
/// with the touch decision returned instead of made, and that read followed by the touch UPDATE only when the
/// decision says so (the lever of issue 12). 10,000 sessions of 2 KB; before each run the table is reset and each
/// session's last touch spread over the threshold, so sessions fall due during the run as on a live site.
/// </summary>
internal static class GetStatementMeasurement
{
    private const int Rounds = 3;
    private const string Key = "'00000000-0000-0000-0000-' || lpad(:n::text, 12, '0')";

    public static async Task RunAsync()
    {
        await using var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries()!, durable: true);
        await using var admin = Npgsql.NpgsqlDataSource.Create(postgres.ConnectionString + ";Pooling=false");
        var options = new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = "sessions", CreateTableIfMissing = true };
        using (var cache = new PostgresSessionCache(options))
        {
            var payload = SessionPayloads.Create(2_000);
            await Parallel.ForEachAsync(Enumerable.Range(0, 10_000), async (i, token) =>
                await cache.SetAsync(SessionsMeasurement.Key(i), payload, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, token));
        }

        var sql = new PostgresSql("public", "sessions");
        const string Decision = """
            SELECT sess, CASE WHEN isfinite(expire) THEN expire - now() END AS remaining, sliding_expiration AS sliding, absolute_expire - now() AS absolute,
                   (least(now() + sliding_expiration, absolute_expire) - expire > sliding_expiration * 0.1)::int AS due
            FROM "public"."sessions" WHERE sid = {key} AND expire > now()
            """;
        var decision = Ceilings.Bind(Decision.Replace("{key}", Key, StringComparison.Ordinal));
        var conditional = $"{decision} \\gset\n\\if :due\n{Ceilings.Bind(sql.Refresh, ("$1", Key), ("$2", "0.1::float8"))};\n\\endif";
        var statements = new (string Name, string Script, string Protocol)[]
        {
            ("primary-key SELECT of sess", $"SELECT sess FROM \"public\".\"sessions\" WHERE sid = {Key};", "prepared"),
            ("Get before issue 12 (touch UPDATE in a CTE, then the read)", Ceilings.Bind(sql.GetAndTouch, ("$1", Key), ("$2", "0.1::float8")) + ";", "prepared"),
            ("read with the touch decision as a column (no touch)", decision + ";", "prepared"),
            ("read with the decision + touch UPDATE only when due (the Get now)", conditional, "prepared"),
            ("the same, not prepared (parsed and planned each time: -M extended)", conditional, "extended"),
        };

        var pgbench = Path.Combine(LocalPostgres.FindBinaries()!, "pgbench");
        var results = statements.ToDictionary(s => s.Name, _ => new List<double>());
        for (var round = 1; round <= Rounds; round++)
        {
            foreach (var (name, script, protocol) in statements)
            {
                Console.Write($"\rround {round}/{Rounds} {name,-70}");
                await StoreState.ResetTableAsync(admin, "sessions", SessionCacheProviderOptions.DefaultTouchThreshold);
                results[name].Add(await Ceilings.PgbenchAsync(pgbench, postgres.Port, 16, 5, script, 10_000, protocol: protocol));
            }
        }

        Console.WriteLine();
        // Each round's ratio to the CTE Get in the same round: the machine's noise moves both alike.
        var before = results[statements[1].Name];
        Console.WriteLine($"| statement (pgbench, 16 clients, 5 s, median of {Rounds} interleaved rounds) | transactions/s (min–max) | ÷ the Get before issue 12, same round (min–max) |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var (name, rates) in results)
        {
            var spread = Spread.Of(rates);
            var ratio = Spread.Of(rates.Select((rate, round) => rate / before[round]));
            Console.WriteLine($"| {name} | {spread.Median:N0} ({spread.Min:N0}–{spread.Max:N0}) | {ratio.Median:0.00}× ({ratio.Min:0.00}–{ratio.Max:0.00}) |");
        }
    }
}
