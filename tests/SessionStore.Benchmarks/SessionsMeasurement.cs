using System.Diagnostics;
using HdrHistogram;
using Npgsql;
using SessionStore.LocalServers;
using SessionStore.Redis;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;

using static SessionStore.Benchmarks.AdminCommands;

namespace SessionStore.Benchmarks;

/// <summary>
/// The side-by-side run: every contender, every session workload, in interleaved rounds so that machine noise
/// hits all alike; then an accounting pass (round trips, rows and WAL written) and the servers' own ceilings.
/// </summary>
internal static class SessionsMeasurement
{
    public static async Task<SessionsReport> RunAsync(BenchmarkSettings settings)
    {
        await using var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries() ?? throw new InvalidOperationException("PostgreSQL is not installed: run scripts/install-servers.sh."), durable: true);
        await using var redisServer = await LocalRedis.StartAsync(LocalRedis.FindBinary() ?? throw new InvalidOperationException("Redis is not installed: run scripts/install-servers.sh."));
        // No pooling: the accounting waits until no other client is connected, and the admin's own idle
        // connections would never leave.
        await using var admin = NpgsqlDataSource.Create(postgres.ConnectionString + ";Pooling=false");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisServer.Configuration + ",allowAdmin=true");
        var report = new SessionsReport(settings, await ScalarAsync<string>(admin, "SHOW server_version"), (string)(await redis.GetServer(redis.GetEndPoints()[0]).ExecuteAsync("INFO", "server"))!);

        foreach (var payloadSize in settings.PayloadSizes)
        {
            var table = $"sessions_{payloadSize}";
            var prefix = $"s{payloadSize}:";
            var keys = Enumerable.Range(0, settings.Sessions).Select(Key).ToArray();
            var payload = SessionPayloads.Create(payloadSize);
            using var contenders = new Contenders(postgres.ConnectionString, table, redis, redisServer.Configuration, prefix);
            Console.WriteLine($"Seeding {settings.Sessions:N0} sessions of {payloadSize:N0} bytes in both stores…");
            await SeedAsync(contenders, keys, payload);

            var configurations = (
                from workload in Enum.GetValues<Workload>()
                from concurrency in settings.Concurrencies
                where payloadSize == settings.PayloadSizes[0] || (workload == Workload.ReadOnly && concurrency == 16)
                select (workload, concurrency)).ToList();
            for (var round = 1; round <= settings.Rounds; round++)
            {
                foreach (var (workload, concurrency) in configurations)
                {
                    foreach (var contender in contenders.All)
                    {
                        Console.Write($"\rround {round}/{settings.Rounds}  {payloadSize,6:N0} B  {workload,-10} c={concurrency,-3} {contender.Name,-40}");
                        var (requests, latency) = await WorkloadRunner.RunAsync(contender.Cache, workload, concurrency, settings.Duration, keys, payload);
                        report.Add(new RunKey(contender.Name, workload, concurrency, payloadSize), requests, settings.Duration, latency);
                    }
                }
            }

            Console.WriteLine();
            if (payloadSize == settings.PayloadSizes[0])
            {
                var names = contenders.All.Select(c => c.Name).ToList();
                contenders.Dispose();
                await AccountAsync(report, names, postgres, admin, redis, redisServer, table, prefix, keys, payload);
                report.Ceilings.AddRange(await Ceilings.MeasureAsync(postgres, redisServer, table, prefix, settings.Sessions, settings.Concurrencies));
            }
        }

        return report;
    }

    private static string Key(int i) => $"00000000-0000-0000-0000-{i:D12}";

    private static async Task SeedAsync(Contenders contenders, string[] keys, byte[] payload)
    {
        string[] stores = ["SessionStore PostgreSQL", "SessionStore PostgreSQL, bytea", "SessionStore Redis"];
        var caches = contenders.All.Where(c => stores.Contains(c.Name)).Select(c => c.Cache).ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (key, token) =>
        {
            foreach (var cache in caches)
            {
                await cache.SetAsync(key, payload, WorkloadRunner.IdleTimeout, token);
            }
        });
    }

    /// <summary>
    /// Per contender and workload, on fresh connections: statements and commands per request (Npgsql tracing,
    /// StackExchange.Redis profiling) and the rows and WAL PostgreSQL wrote. Backends publish their table
    /// statistics when they exit, so each pass closes its connections and waits for that.
    /// </summary>
    private static async Task AccountAsync(SessionsReport report, List<string> names, LocalPostgres postgres, NpgsqlDataSource admin, IConnectionMultiplexer redis, LocalRedis redisServer, string table, string prefix, string[] keys, byte[] payload)
    {
        var statements = 0L;
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = _ => Interlocked.Increment(ref statements),
        };
        ActivitySource.AddActivityListener(listener);
        ProfilingSession? profiling = null;
        redis.RegisterProfiler(() => profiling);

        foreach (var workload in Enum.GetValues<Workload>())
        {
            foreach (var name in names)
            {
                Console.Write($"\raccounting {workload,-10} {name,-40}");
                await WaitForOtherClientsToLeaveAsync(admin);
                var before = await TableStatisticsAsync(admin, table);
                var walBefore = await ScalarAsync<string>(admin, "SELECT pg_current_wal_insert_lsn()::text");
                long requests;
                int redisCommands;
                using (var contenders = new Contenders(postgres.ConnectionString, table, redis, redisServer.Configuration, prefix, () => profiling))
                {
                    var contender = contenders.All.Single(c => c.Name == name);
                    Interlocked.Exchange(ref statements, 0);
                    profiling = new ProfilingSession();
                    (requests, _) = await WorkloadRunner.RunAsync(contender.Cache, workload, 8, TimeSpan.FromSeconds(1), keys, payload);

                    // A transaction's commands travel together and come back with its EXEC: MULTI is not a round trip of its own.
                    redisCommands = profiling.FinishProfiling().Count(c => c.Command is not "MULTI");
                    profiling = null;
                }

                var wal = await ScalarAsync<decimal>(admin, $"SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '{walBefore}')");
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

    /// <summary>Summed over both payload formats' tables: each contender writes only to its own.</summary>
    private static async Task<(long Inserted, long Updated, long HotUpdated)> TableStatisticsAsync(NpgsqlDataSource admin, string table)
    {
        await using var command = admin.CreateCommand(
            "SELECT sum(n_tup_ins)::bigint, sum(n_tup_upd)::bigint, sum(n_tup_hot_upd)::bigint FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname IN ($1, $1 || '_bytea')");
        command.Parameters.Add(new NpgsqlParameter { Value = table });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}

internal sealed record BenchmarkSettings(int Sessions, int[] PayloadSizes, int[] Concurrencies, TimeSpan Duration, int Rounds);

internal sealed record RunKey(string Contender, Workload Workload, int Concurrency, int PayloadSize);

internal sealed record Accounting(string Contender, Workload Workload, long Requests, double Statements, double RedisCommands, double RowsWritten, double WalBytesPerThousand, double? HotRatio);

internal sealed record Ceiling(string Tool, string What, int Concurrency, double OperationsPerSecond);

internal sealed class SessionsReport(BenchmarkSettings settings, string postgresVersion, string redisInfo)
{
    public BenchmarkSettings Settings { get; } = settings;

    public string PostgresVersion { get; } = postgresVersion;

    public string RedisVersion { get; } = redisInfo.Split('\n').FirstOrDefault(l => l.StartsWith("redis_version:", StringComparison.Ordinal))?.Trim()["redis_version:".Length..] ?? "?";

    public Dictionary<RunKey, (long Requests, TimeSpan Time, LongHistogram Latency)> Runs { get; } = [];

    public List<Accounting> Accounting { get; } = [];

    public List<Ceiling> Ceilings { get; } = [];

    public void Add(RunKey key, long requests, TimeSpan time, LongHistogram latency)
    {
        if (Runs.TryGetValue(key, out var existing))
        {
            existing.Latency.Add(latency);
            Runs[key] = (existing.Requests + requests, existing.Time + time, existing.Latency);
        }
        else
        {
            Runs[key] = (requests, time, latency);
        }
    }

    public double Throughput(RunKey key) => Runs.TryGetValue(key, out var run) ? run.Requests / run.Time.TotalSeconds : double.NaN;
}
