using System.Diagnostics;
using Npgsql;
using SessionStore.Postgres;
using SessionStore.Redis;
using StackExchange.Redis.Profiling;

using static SessionStore.Benchmarks.AdminCommands;

namespace SessionStore.Benchmarks;

/// <summary>
/// The side-by-side run: every contender, every session workload, each on a table and keys of its own that are
/// put back into the stated state before every run; rounds interleaved (and the order rotated) so that machine
/// noise hits all alike; then an accounting pass (round trips, rows and WAL written) and the servers' own ceilings.
/// </summary>
internal static class SessionsMeasurement
{
    public static async Task<SessionsReport> RunAsync(BenchmarkSettings settings)
    {
        await using var servers = await BenchmarkServers.StartAsync();
        var redisInfo = (string)(await servers.Redis[RedisPersistence.None].Connection.GetServer(servers.Redis[RedisPersistence.None].Connection.GetEndPoints()[0]).ExecuteAsync("INFO", "server"))!;
        var report = new SessionsReport(settings, await ScalarAsync<string>(servers.Admin, "SHOW server_version"), redisInfo);
        var keys = Enumerable.Range(0, settings.Sessions).Select(Key).ToArray();

        var groups = settings.Configurations.Select(c => (c.Workload, c.PayloadSize)).Distinct().ToList();
        var sets = groups.ToDictionary(g => g, g => new Contenders(servers, Tag(g.Workload, g.PayloadSize), include: settings.Include));
        try
        {
            foreach (var size in settings.Configurations.Select(c => c.PayloadSize).Distinct())
            {
                Console.WriteLine($"Seeding {settings.Sessions:N0} sessions of {size:N0} bytes for every contender and workload…");
                await SeedAsync(servers, groups.Where(g => g.PayloadSize == size).SelectMany(g => sets[g].All).ToList(), keys, SessionPayloads.Create(size), size);
            }

            await servers.EnablePersistenceAsync();
            for (var round = 1; round <= settings.Rounds; round++)
            {
                foreach (var (workload, concurrency, size) in settings.Configurations)
                {
                    var contenders = sets[(workload, size)].All;
                    var payload = SessionPayloads.Create(size);

                    // Rotated each round, so that no contender always runs right after the same neighbour.
                    foreach (var contender in contenders.Skip(round - 1).Concat(contenders.Take(round - 1)))
                    {
                        Console.Write($"\rround {round}/{settings.Rounds}  {size,6:N0} B  {workload,-10} c={concurrency,-3} {contender.Name,-50}");
                        var state = await PrepareAsync(servers.Admin, contender, keys, workload == Workload.NewSession);
                        var (requests, latency) = await WorkloadRunner.RunAsync(contender.Cache, workload, concurrency, settings.Duration, keys, payload);
                        if (state is not null)
                        {
                            state = state with { DeadRowsAfter = (await StoreState.MeasureAsync(servers.Admin, contender.Table!)).Dead };
                        }

                        report.Add(new RunKey(contender.Name, workload, concurrency, size), contender.Durability, new RoundResult(requests, settings.Duration, latency, state));
                    }
                }
            }

            Console.WriteLine();
        }
        finally
        {
            foreach (var set in sets.Values)
            {
                set.Dispose();
            }
        }

        // WAL is counted server-wide: autovacuum of the other contenders' tables would be counted against the one measured.
        await ExecuteAsync(servers.Admin, """
            DO $$ DECLARE t regclass; BEGIN
              FOR t IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' LOOP
                EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)', t);
              END LOOP;
            END $$
            """);
        while (await ScalarAsync<long>(servers.Admin, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") > 0)
        {
            await Task.Delay(200);
        }

        var first = settings.Configurations[0].PayloadSize;
        var names = sets[(Workload.ReadOnly, first)].All.Select(c => c.Name).ToList();
        if (settings.Account)
        {
            await AccountAsync(report, names, servers, keys, SessionPayloads.Create(first), first);
        }

        report.Ceilings.AddRange(await Ceilings.MeasureAsync(servers, Tag(Workload.ReadOnly, first), Tag(Workload.Modifying, first), settings.Sessions, first, settings.Concurrencies));
        return report;
    }

    public static string Key(int i) => $"00000000-0000-0000-0000-{i:D12}";

    public static string Tag(Workload workload, int payloadSize) => $"{workload.ToString().ToLowerInvariant()}_{payloadSize}";

    /// <summary>Resets the contender's table and keys; returns the table's state as the run starts.</summary>
    public static async Task<TableState?> PrepareAsync(NpgsqlDataSource admin, Contender contender, IReadOnlyList<string> sessions, bool newSessionsWritten = true)
    {
        await StoreState.ResetAsync(admin, contender, SessionCacheProviderOptions.DefaultTouchThreshold, sessions, newSessionsWritten);
        if (contender.Table is not { } table)
        {
            return null;
        }

        // VACUUM FULL keeps row versions that an older snapshot elsewhere (an autovacuum ANALYZE of another
        // table, say) may still see: try again once that has moved on.
        var (live, dead, heap, toast, index) = await StoreState.MeasureAsync(admin, table);
        for (var attempt = 0; dead > 0 && attempt < 5; attempt++)
        {
            await Task.Delay(200);
            await ExecuteAsync(admin, $"VACUUM FULL \"public\".\"{table}\"");
            (live, dead, heap, toast, index) = await StoreState.MeasureAsync(admin, table);
        }

        return new TableState(live, dead, dead, heap, toast, index);
    }

    /// <summary>
    /// Loads the sessions once per payload format through the cache itself, then copies them server-side into every
    /// contender's table (created by the cache, so with the shipped schema); Redis keys go in through SessionStore's
    /// Redis store, which writes exactly what RedisCache writes.
    /// </summary>
    private static async Task SeedAsync(BenchmarkServers servers, List<Contender> contenders, string[] keys, byte[] payload, int size)
    {
        var connectionString = servers.Postgres.ConnectionString;
        foreach (var format in new[] { PostgresPayloadFormat.Jsonb, PostgresPayloadFormat.Bytea })
        {
            var seed = $"seed_{format.ToString().ToLowerInvariant()}_{size}";
            using (var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = connectionString, TableName = seed, CreateTableIfMissing = true, PayloadFormat = format }))
            {
                await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (key, token) => await cache.SetAsync(key, payload, WorkloadRunner.IdleTimeout, token));
            }

            foreach (var table in contenders.Where(c => c.Table is not null && c.Format == format).Select(c => c.Table!).Distinct())
            {
                using (var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = connectionString, TableName = table, CreateTableIfMissing = true, PayloadFormat = format }))
                {
                    await cache.RemoveAsync("absent");
                }

                await ExecuteAsync(servers.Admin, $"INSERT INTO \"public\".\"{table}\" SELECT * FROM \"public\".\"{seed}\"");
            }
        }

        foreach (var redis in contenders.Where(c => c.Redis is not null).Select(c => c.Redis!).Distinct())
        {
            using var cache = new RedisSessionCache(new RedisSessionCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult(redis.Connection), InstanceName = redis.Prefix });
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (key, token) => await cache.SetAsync(key, payload, WorkloadRunner.IdleTimeout, token));
        }
    }

    /// <summary>
    /// Per contender and workload, on fresh connections: statements and commands per request (Npgsql tracing,
    /// StackExchange.Redis profiling) and the rows and WAL PostgreSQL wrote. Backends publish their table
    /// statistics when they exit, so each pass closes its connections and waits for that.
    /// </summary>
    private static async Task AccountAsync(SessionsReport report, List<string> names, BenchmarkServers servers, string[] keys, byte[] payload, int size)
    {
        var admin = servers.Admin;
        var statements = 0L;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = _ => Interlocked.Increment(ref statements),
        };
        ActivitySource.AddActivityListener(listener);
        ProfilingSession? profiling = null;
        foreach (var (_, connection) in servers.Redis.Values)
        {
            connection.RegisterProfiler(() => profiling);
        }

        foreach (var workload in new[] { Workload.ReadOnly, Workload.Modifying, Workload.NewSession })
        {
            foreach (var name in names)
            {
                Console.Write($"\raccounting {workload,-10} {name,-50}");
                long requests;
                int redisCommands;
                decimal wal;
                (long Inserted, long Updated, long HotUpdated) before;
                string? table;
                using (var contenders = new Contenders(servers, Tag(workload, size), () => profiling))
                {
                    var contender = contenders.All.Single(c => c.Name == name);
                    table = contender.Table;
                    await StoreState.ResetAsync(admin, contender, SessionCacheProviderOptions.DefaultTouchThreshold, keys, workload == Workload.NewSession);
                    await WaitForOtherClientsToLeaveAsync(admin);
                    before = await TableStatisticsAsync(admin, contender.Table);
                    var walBefore = await ScalarAsync<string>(admin, "SELECT pg_current_wal_insert_lsn()::text");
                    Interlocked.Exchange(ref statements, 0);
                    profiling = new ProfilingSession();
                    (requests, _) = await WorkloadRunner.RunAsync(contender.Cache, workload, 8, TimeSpan.FromSeconds(1), keys, payload);

                    // A transaction's commands travel together and come back with its EXEC: MULTI is not a round trip of its own.
                    redisCommands = profiling.FinishProfiling().Count(c => c.Command is not "MULTI");
                    profiling = null;
                    wal = await ScalarAsync<decimal>(admin, $"SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '{walBefore}')");
                }

                await WaitForOtherClientsToLeaveAsync(admin);
                var after = await TableStatisticsAsync(admin, table);

                report.Accounting.Add(new Accounting(name, workload, requests,
                    Statements: Interlocked.Read(ref statements) / (double)requests,
                    RedisCommands: redisCommands / (double)requests,
                    RowsWritten: (after.Inserted + after.Updated - before.Inserted - before.Updated) / (double)requests,
                    WalBytesPerThousand: (double)wal / requests * 1000,
                    HotRatio: after.Updated - before.Updated == 0 ? null : (after.HotUpdated - before.HotUpdated) / (double)(after.Updated - before.Updated)));
            }
        }

        Console.WriteLine();
    }

    /// <summary>Backends publish their table statistics as they exit: wait until every other client has.</summary>
    private static async Task WaitForOtherClientsToLeaveAsync(NpgsqlDataSource admin)
    {
        while (await ScalarAsync<long>(admin, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()") > 0)
        {
            await Task.Delay(50);
        }

        await Task.Delay(300);
    }

    private static async Task<(long Inserted, long Updated, long HotUpdated)> TableStatisticsAsync(NpgsqlDataSource admin, string? table)
    {
        if (table is null)
        {
            return (0, 0, 0);
        }

        await using var command = admin.CreateCommand(
            "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = table });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}
