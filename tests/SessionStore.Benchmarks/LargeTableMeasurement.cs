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
    private const string ServerAlone = "pgbench: the primary-key read alone (no .NET)";
    private const int Rounds = 3;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(int sessions)
    {
        await using var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries()!, durable: true);
        await using var redisServer = await LocalRedis.StartAsync(LocalRedis.FindBinary()!);
        await using var admin = NpgsqlDataSource.Create(postgres.ConnectionString + ";Pooling=false;Command Timeout=600");
        using var hugePages = await ServerSettings.ApplyAsync(postgres, admin);
        await AdminCommands.ExecuteAsync(admin, "CREATE EXTENSION IF NOT EXISTS pgstattuple");
        await AdminCommands.ExecuteAsync(admin, "CREATE EXTENSION IF NOT EXISTS pg_prewarm");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisServer.Configuration);
        var payload = SessionPayloads.Create(2_000);

        // A null cache is the server alone: pgbench's primary-key read, to tell the table's cost from the client's.
        var runs = new List<(string Name, int Sessions, Microsoft.Extensions.Caching.Distributed.IDistributedCache? Cache, string? Table)>();
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
            runs.Add((ServerAlone, count, null, table));
        }

        // Built once: a million fresh key strings before every run would leave the collector work during the next.
        var keysBySize = runs.Select(r => r.Sessions).Distinct().ToDictionary(count => count, count => Enumerable.Range(0, count).Select(SessionsMeasurement.Key).ToArray());
        var results = runs.ToDictionary(r => (r.Name, r.Sessions), _ => new List<(double Rate, double P99, double P50)>());
        var pgbench = Path.Combine(LocalPostgres.FindBinaries()!, "pgbench");
        // Per PostgreSQL cache and size, each run's share of sessions due at its start and rows touched per request.
        var touches = runs.Where(r => r.Cache is not null && r.Table is not null).ToDictionary(r => (r.Name, r.Sessions), _ => (Due: new List<double>(), PerRequest: new List<double>()));
        var states = new Dictionary<string, (long Live, long Dead, long Heap, long Toast, long Index)>();

        // A reset before the rounds, unmeasured, times each table's reset for the first measured one.
        var resetTakes = new Dictionary<string, TimeSpan>();
        foreach (var table in runs.Where(r => r.Table is not null).Select(r => r.Table!).Distinct())
        {
            await ResetAsync(admin, redis, table, 0, [], resetTakes);
        }

        for (var round = 1; round <= Rounds; round++)
        {
            foreach (var (name, count, cache, table) in runs.Skip(round - 1).Concat(runs.Take(round - 1)))
            {
                Console.Write($"\rround {round}/{Rounds} {name,-25} {count,9:N0} sessions, resetting   ");
                await ResetAsync(admin, redis, table, count, keysBySize[count], resetTakes);
                if (table is not null)
                {
                    states[table] = await StoreState.MeasureAsync(admin, table);
                }

                if (touches.TryGetValue((name, count), out var touched))
                {
                    touched.Due.Add(await DueShareAsync(admin, table!));
                }

                Console.Write($"\rround {round}/{Rounds} {name,-25} {count,9:N0} sessions, measuring  ");
                if (cache is null)
                {
                    var rate = await Ceilings.PgbenchAsync(pgbench, postgres.Port, 16, (int)Duration.TotalSeconds, $"SELECT sess FROM \"public\".\"{table}\" WHERE sid = {Ceilings.KeyExpression} AND expire > now();", count);
                    results[(name, count)].Add((rate, double.NaN, double.NaN));
                    continue;
                }

                var started = await AdminCommands.ScalarAsync<DateTime>(admin, "SELECT now()");
                var (requests, latency) = await WorkloadRunner.RunAsync(cache, Workload.ReadOnly, 16, Duration, keysBySize[count], payload);
                results[(name, count)].Add((requests / Duration.TotalSeconds, latency.Milliseconds(99), latency.Milliseconds(50)));
                if (touched.PerRequest is { } perRequest)
                {
                    perRequest.Add(await TouchedSinceAsync(admin, table!, started) / (double)requests);
                }
            }
        }

        Console.WriteLine();
        foreach (var run in runs)
        {
            (run.Cache as IDisposable)?.Dispose();
        }

        Console.WriteLine($"Read-only session requests, 2 KB sessions, 16 callers, {Rounds} interleaved rounds of {Duration.TotalSeconds:0} s (median, min–max); PostgreSQL with {string.Join(", ", ServerSettings.Documented.Select(s => $"{s.Name} = {s.Value}"))}, huge_pages = on. Before every run its store is put back: each session's last touch spread over the last tenth of its window, the table rewritten without dead rows and read into shared_buffers (pg_prewarm):");
        Console.WriteLine();
        Console.WriteLine($"| cache | req/s, {Small:N0} sessions | req/s, {sessions:N0} sessions | {sessions:N0} ÷ {Small:N0} | p99 ms, {Small:N0} | p99 ms, {sessions:N0} | sessions due at the start, {Small:N0} / {sessions:N0} | rows touched per request, {Small:N0} / {sessions:N0} |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var name in runs.Select(r => r.Name).Distinct())
        {
            var small = results[(name, Small)];
            var large = results[(name, sessions)];
            var (smallRate, largeRate) = (Spread.Of(small.Select(r => r.Rate)), Spread.Of(large.Select(r => r.Rate)));
            var (due, perRequest) = touches.TryGetValue((name, Small), out var smallTouched)
                ? ($"{Spread.Of(smallTouched.Due).Median:P1} / {Spread.Of(touches[(name, sessions)].Due).Median:P1}",
                   $"{Spread.Of(smallTouched.PerRequest).Median:0.000} / {Spread.Of(touches[(name, sessions)].PerRequest).Median:0.000}")
                : ("—", "—");
            Console.WriteLine($"| {name} | {smallRate.Median:N0} ({smallRate.Min:N0}–{smallRate.Max:N0}) | {largeRate.Median:N0} ({largeRate.Min:N0}–{largeRate.Max:N0}) | {largeRate.Median / smallRate.Median:0.00}× | {P99(small)} | {P99(large)} | {due} | {perRequest} |");
        }

        Console.WriteLine();
        Console.WriteLine("| PostgreSQL table at a run's start | live rows | dead rows | heap + TOAST + indexes |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (table, state) in states)
        {
            Console.WriteLine($"| {table} | {state.Live:N0} | {state.Dead:N0} | {state.Heap / 1048576.0:N0} + {state.Toast / 1048576.0:N0} + {state.Index / 1048576.0:N0} MB |");
        }
    }

    /// <summary>pgbench reports no percentiles here.</summary>
    private static string P99(List<(double Rate, double P99, double P50)> rounds) =>
        rounds.Any(r => double.IsNaN(r.P99)) ? "—" : Spread.Of(rounds.Select(r => r.P99)).Median.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The stated state before every run, at both sizes: left alone, the sessions age with the clock from seeding
    /// on, and in the large table, where a run reads most sessions at most once, nearly every read would then
    /// write a touch. The table is also read into shared_buffers, where a busy site keeps its session table.
    /// Its touches are spread from the moment the reset is expected to end: the previous reset's duration.
    /// </summary>
    private static async Task ResetAsync(NpgsqlDataSource admin, IConnectionMultiplexer redis, string? table, int count, string[] keys, Dictionary<string, TimeSpan> resetTakes)
    {
        if (table is null)
        {
            await StoreState.AgeRedisSessionsAsync(new RedisKeys(redis, $"s{count}:"), keys, SessionCacheProviderOptions.DefaultTouchThreshold);
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await StoreState.ResetTableAsync(admin, table, SessionCacheProviderOptions.DefaultTouchThreshold, resetTakes.GetValueOrDefault(table));

        // VACUUM FULL leaves the visibility map empty and the dead rows of the spreading UPDATE counted, so
        // autovacuum would scan the whole large table during the run; a plain VACUUM leaves it nothing to do.
        await AdminCommands.ExecuteAsync(admin, $"VACUUM \"public\".\"{table}\"");
        await AdminCommands.ExecuteAsync(admin, "CHECKPOINT");
        await AdminCommands.ExecuteAsync(admin, $"""
            SELECT pg_prewarm(c.oid) FROM pg_class AS c
            WHERE c.oid = '"public"."{table}"'::regclass
               OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = '"public"."{table}"'::regclass)
            """);
        resetTakes[table] = System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    /// <summary>The share of sessions due for their sliding touch at the default threshold.</summary>
    private static Task<double> DueShareAsync(NpgsqlDataSource admin, string table) =>
        AdminCommands.ScalarAsync<double>(admin, $"""
            SELECT avg((expire < now() + sliding_expiration * (1 - {SessionCacheProviderOptions.DefaultTouchThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}))::int)::float8
            FROM "public"."{table}"
            """);

    /// <summary>Sessions whose sliding touch a run wrote: a touch stamps <c>updated_at</c>, the reset does not.</summary>
    private static async Task<long> TouchedSinceAsync(NpgsqlDataSource admin, string table, DateTime started)
    {
        await using var command = admin.CreateCommand($"SELECT count(*) FROM \"public\".\"{table}\" WHERE updated_at >= $1");
        command.Parameters.Add(new NpgsqlParameter { Value = started });
        return (long)(await command.ExecuteScalarAsync())!;
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
