using System.Security.Cryptography;
using System.Text;
using Npgsql;
using SessionStore.LocalServers;
using SessionStore.Postgres;

namespace SessionStore.Benchmarks;

/// <summary>
/// A JSONB session of about 2 KB sits right at PostgreSQL's TOAST threshold (a row over ~2 KB is compressed or
/// moved out of line). Which column and table settings serve sessions best? The same cache on tables that differ
/// only in those settings, with two payloads: the harness's (a cart of one repeated letter, which compresses to
/// almost nothing) and a cart of random text (which barely compresses). Prints sizes and read-only and modifying
/// requests through <see cref="PostgresSessionCache"/>, 16 callers, interleaved rounds, tables reset before each run.
/// </summary>
internal static class ToastMeasurement
{
    private const int Sessions = 10_000;
    private const int Rounds = 3;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(2);

    // Each variant's statements run on a table the cache created with the shipped schema (STORAGE MAIN since schema 5).
    private static readonly (string Name, string Sql)[] Variants =
    [
        ("STORAGE EXTENDED, pglz (schema 4 and before)", "ALTER TABLE {table} ALTER COLUMN sess SET STORAGE EXTENDED"),
        ("STORAGE EXTENDED, lz4", "ALTER TABLE {table} ALTER COLUMN sess SET STORAGE EXTENDED, ALTER COLUMN sess SET COMPRESSION lz4"),
        ("shipped (schema 5): STORAGE MAIN, pglz", ""),
        ("STORAGE MAIN, lz4", "ALTER TABLE {table} ALTER COLUMN sess SET COMPRESSION lz4"),
    ];

    public static async Task RunAsync()
    {
        await using var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries()!, durable: true);
        await using var admin = NpgsqlDataSource.Create(postgres.ConnectionString + ";Pooling=false");
        await AdminCommands.ExecuteAsync(admin, "CREATE EXTENSION IF NOT EXISTS pgstattuple");
        var keys = Enumerable.Range(0, Sessions).Select(SessionsMeasurement.Key).ToArray();
        var payloads = new (string Name, byte[] Bytes)[] { ("repetitive cart", SessionPayloads.Create(2_000)), ("random-text cart", RandomTextPayload(2_000)) };

        var tables = new List<(string Variant, string Payload, string Table, byte[] Bytes, PostgresSessionCache Cache)>();
        foreach (var (payloadName, bytes) in payloads)
        {
            foreach (var (variant, sql) in Variants)
            {
                var table = $"toast_{tables.Count}";
                var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = table, CreateTableIfMissing = true });
                await cache.RemoveAsync("absent");
                if (sql.Length > 0)
                {
                    await AdminCommands.ExecuteAsync(admin, sql.Replace("{table}", $"\"public\".\"{table}\"", StringComparison.Ordinal));
                }

                Console.Write($"\rseeding {variant}, {payloadName}            ");
                await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) => await cache.SetAsync(key, bytes, WorkloadRunner.IdleTimeout, token));
                tables.Add((variant, payloadName, table, bytes, cache));
            }
        }

        var results = tables.ToDictionary(t => t.Table, _ => (Read: new List<double>(), ReadP99: new List<double>(), Write: new List<double>()));
        var sizes = new Dictionary<string, (long Live, long Dead, long Heap, long Toast, long Index)>();
        for (var round = 1; round <= Rounds; round++)
        {
            foreach (var (variant, payload, table, bytes, cache) in tables.Skip(round - 1).Concat(tables.Take(round - 1)))
            {
                Console.Write($"\rround {round}/{Rounds} {variant}, {payload}                ");
                await StoreState.ResetTableAsync(admin, table, SessionCacheProviderOptions.DefaultTouchThreshold);
                sizes[table] = await StoreState.MeasureAsync(admin, table);
                var (reads, latency) = await WorkloadRunner.RunAsync(cache, Workload.ReadOnly, 16, Duration, keys, bytes);
                await StoreState.ResetTableAsync(admin, table, SessionCacheProviderOptions.DefaultTouchThreshold);
                var (writes, _) = await WorkloadRunner.RunAsync(cache, Workload.Modifying, 16, Duration, keys, bytes);
                results[table].Read.Add(reads / Duration.TotalSeconds);
                results[table].ReadP99.Add(latency.Milliseconds(99));
                results[table].Write.Add(writes / Duration.TotalSeconds);
            }
        }

        Console.WriteLine();
        Console.WriteLine($"{Sessions:N0} sessions of 2,000 bytes (JSONB), 16 callers, {Duration.TotalSeconds:0} s runs, median of {Rounds} interleaved rounds (min–max); PostgreSQL {await AdminCommands.ScalarAsync<string>(admin, "SHOW server_version")}, durable.");
        Console.WriteLine();
        Console.WriteLine("| payload | table settings | heap + TOAST + indexes | read-only req/s | read-only p99 ms | modifying req/s |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (var (variant, payload, table, _, cache) in tables)
        {
            var (read, p99, write) = (Spread.Of(results[table].Read), Spread.Of(results[table].ReadP99), Spread.Of(results[table].Write));
            var size = sizes[table];
            Console.WriteLine($"| {payload} | {variant} | {size.Heap / 1048576.0:0.0} + {size.Toast / 1048576.0:0.0} + {size.Index / 1048576.0:0.0} MB | {read.Median:N0} ({read.Min:N0}–{read.Max:N0}) | {p99.Median:0.00} | {write.Median:N0} ({write.Min:N0}–{write.Max:N0}) |");
            cache.Dispose();
        }
    }

    /// <summary>A session whose cart is random letters and digits: what a serialized object with ids and names compresses like, at worst.</summary>
    private static byte[] RandomTextPayload(int size)
    {
        var template = SessionPayloads.Create(size);
        var cart = Encoding.ASCII.GetBytes(RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", size));
        var text = Encoding.ASCII.GetString(template);
        var start = text.IndexOf("xxxx", StringComparison.Ordinal);
        var end = text.LastIndexOf('x') + 1;
        cart.AsSpan(0, end - start).CopyTo(template.AsSpan(start));
        return template;
    }
}
