using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.LocalServers;
using SessionStore.Postgres;

using static SessionStore.Benchmarks.AdminCommands;

namespace SessionStore.Benchmarks;

/// <summary>
/// Which table layout lets session writes be HOT updates (no index entries, less WAL, less vacuum)?
/// Runs the same writes through <see cref="PostgresSessionCache"/> against the shipped schema and variants of it,
/// on a durable throw-away server, and prints the HOT ratio and WAL volume of each.
/// </summary>
internal static class HotUpdateMeasurement
{
    private const int Sessions = 10_000;
    private const int Writes = 20_000;
    private const int PayloadBytes = 2_000;

    private static readonly (string Name, string Sql)[] Variants =
    [
        ("shipped: fillfactor 100, index on expire", ""),
        ("fillfactor 90, index on expire", "ALTER TABLE {table} SET (fillfactor = 90)"),
        ("fillfactor 100, no index on expire", "DROP INDEX {expire_index}"),
        ("fillfactor 90, no index on expire", "DROP INDEX {expire_index}; ALTER TABLE {table} SET (fillfactor = 90)"),
    ];

    public static async Task RunAsync()
    {
        var binaries = LocalPostgres.FindBinaries() ?? throw new InvalidOperationException("PostgreSQL is not installed: run scripts/install-servers.sh.");
        await using var server = await LocalPostgres.StartAsync(binaries, durable: true);
        await using var admin = NpgsqlDataSource.Create(server.ConnectionString);

        Console.WriteLine($"{Sessions:N0} sessions of {PayloadBytes:N0} bytes, {Writes:N0} writes of each kind, PostgreSQL on loopback, fsync and full-page writes on.");
        Console.WriteLine();
        Console.WriteLine("| table layout | write | HOT updates | WAL bytes per 1,000 writes |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (name, sql) in Variants)
        {
            foreach (var write in new[] { "Set (modified session)", "sliding touch" })
            {
                var (hotRatio, walPerThousand) = await MeasureAsync(server, admin, sql, touch: write == "sliding touch");
                Console.WriteLine($"| {name} | {write} | {hotRatio:P0} | {walPerThousand:N0} |");
            }
        }
    }

    private static async Task<(double HotRatio, double WalPerThousand)> MeasureAsync(LocalPostgres server, NpgsqlDataSource admin, string variantSql, bool touch)
    {
        var table = "hot_" + Guid.NewGuid().ToString("N")[..8];
        var applicationName = table;
        var options = new PostgresSessionCacheOptions
        {
            ConnectionString = $"{server.ConnectionString};Application Name={applicationName}",
            TableName = table,
            CreateTableIfMissing = true,
            TouchThreshold = 0,
        };
        var entry = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) };
        var payload = new byte[PayloadBytes];
        Random.Shared.NextBytes(payload);

        using (var cache = new PostgresSessionCache(options))
        {
            for (var i = 0; i < Sessions; i++)
            {
                await cache.SetAsync(Key(i), payload, entry);
            }
        }

        var quoted = $"\"public\".\"{table}\"";
        if (variantSql.Length > 0)
        {
            await ExecuteAsync(admin, variantSql.Replace("{table}", quoted).Replace("{expire_index}", $"\"{table}_expire_idx\""));
        }

        // VACUUM FULL rewrites the table so that the fillfactor applies to every page, as on a table loaded after the change.
        await ExecuteAsync(admin, $"VACUUM FULL {quoted}");
        await WaitForBackendsToExitAsync(admin, applicationName);
        var updatesBefore = await ScalarAsync<long>(admin, $"SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = '{quoted}'::regclass");
        var hotBefore = await ScalarAsync<long>(admin, $"SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = '{quoted}'::regclass");
        // Every run starts right after a checkpoint, so each pays the same full-page images.
        await ExecuteAsync(admin, "CHECKPOINT");
        var walBefore = await ScalarAsync<string>(admin, "SELECT pg_current_wal_insert_lsn()::text");

        using (var cache = new PostgresSessionCache(options))
        {
            var random = new Random(42);
            for (var i = 0; i < Writes; i++)
            {
                var key = Key(random.Next(Sessions));
                if (touch)
                {
                    await cache.RefreshAsync(key);
                }
                else
                {
                    await cache.SetAsync(key, payload, entry);
                }
            }
        }

        var wal = await ScalarAsync<decimal>(admin, $"SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '{walBefore}')");
        await WaitForBackendsToExitAsync(admin, applicationName);
        var updates = await ScalarAsync<long>(admin, $"SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = '{quoted}'::regclass") - updatesBefore;
        var hot = await ScalarAsync<long>(admin, $"SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = '{quoted}'::regclass") - hotBefore;
        await ExecuteAsync(admin, $"DROP TABLE {quoted}");
        return (updates == 0 ? 0 : (double)hot / updates, (double)wal / Writes * 1000);
    }

    private static string Key(int i) => $"00000000-0000-0000-0000-{i:D12}";

    /// <summary>Backends publish their table statistics as they exit.</summary>
    private static async Task WaitForBackendsToExitAsync(NpgsqlDataSource admin, string applicationName)
    {
        while (await ScalarAsync<long>(admin, $"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{applicationName}'") > 0)
        {
            await Task.Delay(50);
        }

        await Task.Delay(500);
    }
}
