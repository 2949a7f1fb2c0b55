using HdrHistogram;
using Npgsql;
using SessionStore.LocalServers;
using SessionStore.Postgres;
using SessionStore.Redis;
using StackExchange.Redis;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Benchmarks;

/// <summary>
/// Read-only session requests with 1,000,000 live sessions of 2 KB in each store beside the same stores with
/// 10,000, in one run: does the table's size change the picture? The PostgreSQL server runs with the settings
/// docs/postgres.md recommends; 16 callers, interleaved rounds.
/// </summary>
internal static class LargeTableMeasurement
{
    private const int Small = 10_000;
    private const string NoTouchDue = "SessionStore PostgreSQL, TouchThreshold 0.5 (no touch due)";
    private const int Rounds = 3;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(int sessions)
    {
        await using var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries()!, durable: true);
        await using var redisServer = await LocalRedis.StartAsync(LocalRedis.FindBinary()!);
        await using var admin = NpgsqlDataSource.Create(postgres.ConnectionString + ";Pooling=false");
        await ServerSettings.ApplyAsync(postgres, admin);
        await AdminCommands.ExecuteAsync(admin, "CREATE EXTENSION IF NOT EXISTS pgstattuple");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisServer.Configuration);
        var payload = SessionPayloads.Create(2_000);

        var runs = new List<(string Name, int Sessions, Microsoft.Extensions.Caching.Distributed.IDistributedCache Cache, string? Table)>();
        foreach (var count in new[] { Small, sessions })
        {
            var table = $"sessions_{count}";
            var prefix = $"s{count}:";
            Console.WriteLine($"Seeding {count:N0} sessions in each store…");
            await SeedPostgresAsync(postgres.ConnectionString, admin, table, count, payload);
            using (var seeder = new RedisSessionCache(new RedisSessionCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(redis), InstanceName = prefix }))
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, token) =>
                    await seeder.SetAsync(SessionsMeasurement.Key(i), payload, WorkloadRunner.IdleTimeout, token));
            }

            runs.Add((Contenders.RedisCacheName, count, new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new Microsoft.Extensions.Caching.StackExchangeRedis.RedisCacheOptions { Configuration = redisServer.Configuration, InstanceName = prefix })), null));
            runs.Add(("SessionStore Redis", count, new RedisSessionCache(new RedisSessionCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(redis), InstanceName = prefix }), null));
            runs.Add((Contenders.PostgresName, count, new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = table }), table));

            // The same reads, their touches committed asynchronously: how much of the large table's cost is the touches' commits.
            runs.Add((Contenders.PostgresAsyncName, count, new PostgresSessionCache(new PostgresSessionCacheOptions
            {
                ConnectionString = postgres.ConnectionString,
                TableName = table,
                SynchronousCommit = PostgresSynchronousCommit.Off,
            }), table));

            // No session falls due for its touch during the run (each last touched under 2 minutes ago, due only
            // after 10): the read alone, to tell the table's size from the writes of touches.
            runs.Add((NoTouchDue, count, new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = table, TouchThreshold = 0.5 }), table));
        }

        var states = new Dictionary<string, (long Live, long Dead, long Heap, long Toast, long Index)>();
        foreach (var table in runs.Where(r => r.Table is not null).Select(r => r.Table!))
        {
            states[table] = await StoreState.MeasureAsync(admin, table);
        }

        var blocksBefore = await BlocksAsync(admin, $"sessions_{sessions}");
        // Built once: a million fresh key strings before every run would leave the collector work during the next.
        var keysBySize = runs.Select(r => r.Sessions).Distinct().ToDictionary(count => count, count => Enumerable.Range(0, count).Select(SessionsMeasurement.Key).ToArray());
        var results = runs.ToDictionary(r => (r.Name, r.Sessions), _ => new List<(double Rate, double P99, double P50)>());
        for (var round = 1; round <= Rounds; round++)
        {
            foreach (var (name, count, cache, _) in runs.Skip(round - 1).Concat(runs.Take(round - 1)))
            {
                Console.Write($"\rround {round}/{Rounds} {name,-25} {count,9:N0} sessions   ");
                var (requests, latency) = await WorkloadRunner.RunAsync(cache, Workload.ReadOnly, 16, Duration, keysBySize[count], payload);
                results[(name, count)].Add((requests / Duration.TotalSeconds, latency.Milliseconds(99), latency.Milliseconds(50)));
            }
        }

        Console.WriteLine();
        // Backends publish their I/O statistics as they go idle or exit; the caches are closed first.
        foreach (var run in runs)
        {
            (run.Cache as IDisposable)?.Dispose();
        }

        NpgsqlConnection.ClearAllPools();
        await Task.Delay(1_500);
        var blocksAfter = await BlocksAsync(admin, $"sessions_{sessions}");
        var hit = (blocksAfter.Hit - blocksBefore.Hit) / (double)(blocksAfter.Hit - blocksBefore.Hit + blocksAfter.Read - blocksBefore.Read);
        Console.WriteLine($"Read-only session requests, 2 KB sessions, 16 callers, {Rounds} interleaved rounds of {Duration.TotalSeconds:0} s (median, min–max); PostgreSQL with {string.Join(", ", ServerSettings.Documented.Select(s => $"{s.Name} = {s.Value}"))}:");
        Console.WriteLine();
        Console.WriteLine($"| cache | req/s, {Small:N0} sessions | req/s, {sessions:N0} sessions | {sessions:N0} ÷ {Small:N0} | p99 ms, {Small:N0} | p99 ms, {sessions:N0} |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var name in runs.Select(r => r.Name).Distinct())
        {
            var small = results[(name, Small)];
            var large = results[(name, sessions)];
            var (smallRate, largeRate) = (Spread.Of(small.Select(r => r.Rate)), Spread.Of(large.Select(r => r.Rate)));
            Console.WriteLine($"| {name} | {smallRate.Median:N0} ({smallRate.Min:N0}–{smallRate.Max:N0}) | {largeRate.Median:N0} ({largeRate.Min:N0}–{largeRate.Max:N0}) | {largeRate.Median / smallRate.Median:0.00}× | {Spread.Of(small.Select(r => r.P99)).Median:0.00} | {Spread.Of(large.Select(r => r.P99)).Median:0.00} |");
        }

        Console.WriteLine();
        Console.WriteLine("| PostgreSQL table | live rows | dead rows at start → end | heap + TOAST + indexes |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (table, before) in states)
        {
            var after = await StoreState.MeasureAsync(admin, table);
            Console.WriteLine($"| {table} | {before.Live:N0} | {before.Dead:N0} → {after.Dead:N0} | {before.Heap / 1048576.0:N0} + {before.Toast / 1048576.0:N0} + {before.Index / 1048576.0:N0} MB |");
        }

        Console.WriteLine();
        Console.WriteLine($"Buffer cache hit ratio on sessions_{sessions} during the measured rounds (heap, TOAST, indexes): {hit:P1} of {blocksAfter.Hit - blocksBefore.Hit + blocksAfter.Read - blocksBefore.Read:N0} block reads.");
    }

    private static async Task<(long Hit, long Read)> BlocksAsync(NpgsqlDataSource admin, string table)
    {
        await using var command = admin.CreateCommand($"""
            SELECT (heap_blks_hit + coalesce(toast_blks_hit, 0) + coalesce(tidx_blks_hit, 0) + idx_blks_hit)::bigint,
                   (heap_blks_read + coalesce(toast_blks_read, 0) + coalesce(tidx_blks_read, 0) + idx_blks_read)::bigint
            FROM pg_statio_user_tables WHERE relname = '{table}'
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>
    /// One session through the cache, then copied server-side under every key; each session's last touch spread
    /// evenly over the last tenth of its window, as on a site in steady state. Then VACUUM ANALYZE.
    /// </summary>
    private static async Task SeedPostgresAsync(string connectionString, NpgsqlDataSource admin, string table, int count, byte[] payload)
    {
        using (var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = connectionString, TableName = table, CreateTableIfMissing = true }))
        {
            await cache.SetAsync("template", payload, WorkloadRunner.IdleTimeout);
        }

        var quoted = $"\"public\".\"{table}\"";
        await AdminCommands.ExecuteAsync(admin, $"""
            INSERT INTO {quoted} (sid, sess, user_id, expire, sliding_expiration, absolute_expire)
            SELECT '00000000-0000-0000-0000-' || lpad(i::text, 12, '0'), t.sess, t.user_id,
                   now() + t.sliding_expiration - t.sliding_expiration * 0.1 * random(), t.sliding_expiration, t.absolute_expire
            FROM generate_series(0, {count - 1}) AS i, (SELECT * FROM {quoted} WHERE sid = 'template') AS t
            """);
        await AdminCommands.ExecuteAsync(admin, $"DELETE FROM {quoted} WHERE sid = 'template'");
        await AdminCommands.ExecuteAsync(admin, $"VACUUM ANALYZE {quoted}");
        await AdminCommands.ExecuteAsync(admin, "CHECKPOINT");
    }
}
