using System.Diagnostics;
using HdrHistogram;
using Microsoft.Extensions.Caching.Distributed;
using Npgsql;
using SessionStore.Cleanup;
using SessionStore.LocalServers;
using SessionStore.Postgres;

using static SessionStore.Benchmarks.AdminCommands;

namespace SessionStore.Benchmarks;

/// <summary>
/// How fast does cleanup remove expired rows, and what does a run cost the application's reads meanwhile?
/// For each table layout: expired rows of session size next to live sessions that 16 callers keep reading
/// (GetAsync + RefreshAsync, as the session middleware does); read latency with no cleanup, then during one.
/// </summary>
internal static class CleanupMeasurement
{
    private const int LiveSessions = 10_000;
    private const int ExpiredRows = 100_000;
    private const int PayloadBytes = 2_000;
    private const int Readers = 16;
    private static readonly TimeSpan MinimumWindow = TimeSpan.FromSeconds(5);

    public static async Task RunAsync()
    {
        var binaries = LocalPostgres.FindBinaries() ?? throw new InvalidOperationException("PostgreSQL is not installed: run scripts/install-servers.sh.");
        await using var server = await LocalPostgres.StartAsync(binaries, durable: true);
        await using var admin = NpgsqlDataSource.Create(server.ConnectionString);

        Console.WriteLine($"{LiveSessions:N0} live sessions and {ExpiredRows:N0} expired rows of {PayloadBytes:N0}-byte payloads; {Readers} callers each doing GetAsync + RefreshAsync on live sessions;");
        Console.WriteLine($"{Environment.ProcessorCount} cores, PostgreSQL on loopback, fsync and full-page writes on. Latencies are per read-only request (both calls), in ms.");
        Console.WriteLine();
        Console.WriteLine("| layout | cleanup | rows removed | run time | rows/s | reads/s | p50 | p99 | p99.9 | max |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");

        var defaults = new PostgresCleanupOptions();
        var fast = new PostgresCleanupOptions { BatchSize = 5_000, PauseBetweenBatches = TimeSpan.Zero };
        await MeasureAsync(server, admin, "plain", partitioning: null, [("defaults (batch 1,000, pause 100 ms)", defaults), ("batch 5,000, no pause", fast)]);
        await MeasureAsync(server, admin, "partitioned (5 s buckets, 20 s horizon)",
            new PostgresPartitioningOptions { Interval = TimeSpan.FromSeconds(5), Horizon = TimeSpan.FromSeconds(20) },
            [("defaults", defaults)]);
    }

    private static async Task MeasureAsync(LocalPostgres server, NpgsqlDataSource admin, string layout, PostgresPartitioningOptions? partitioning, (string Name, PostgresCleanupOptions Options)[] runs)
    {
        var options = new PostgresSessionCacheOptions
        {
            ConnectionString = server.ConnectionString,
            TableName = "cleanup_" + Guid.NewGuid().ToString("N")[..8],
            CreateTableIfMissing = true,
            Partitioning = partitioning,
        };
        using var cache = new PostgresSessionCache(options);
        var payload = new byte[PayloadBytes];
        Random.Shared.NextBytes(payload);

        // Sliding 15 s keeps live sessions inside the partitions a 20 s horizon creates; the readers keep them alive.
        var entry = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(15) };
        await Parallel.ForAsync(0, LiveSessions, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) => await cache.SetAsync(Key(i), payload, entry, token));

        var (idle, _) = await ReadWhileAsync(cache, () => Task.Delay(MinimumWindow));
        Console.WriteLine($"| {layout} | none | | | | {idle.Throughput:N0} | {Ms(idle, 50)} | {Ms(idle, 99)} | {Ms(idle, 99.9)} | {idle.Histogram.GetMaxValue() / 1000.0:F1} |");

        var cleaner = new PostgresSessionCleaner(cache, runs[0].Options);
        var quoted = $"\"public\".\"{options.TableName}\"";
        foreach (var (name, cleanupOptions) in runs)
        {
            await LoadExpiredRowsAsync(admin, quoted, options.TableName, partitioning is not null, payload);
            var before = await ScalarAsync<long>(admin, $"SELECT count(*) FROM {quoted}");
            cleaner = new PostgresSessionCleaner(cache, cleanupOptions);
            PostgresCleanupResult? result = null;
            var (during, _) = await ReadWhileAsync(cache, async () =>
            {
                var window = Task.Delay(MinimumWindow);
                await Task.Delay(500);
                result = await cleaner.RunOnceAsync();
                await window;
            });
            var removed = before - await ScalarAsync<long>(admin, $"SELECT count(*) FROM {quoted}");
            Console.WriteLine($"| {layout} | {name} | {removed:N0} | {result!.Duration.TotalSeconds:F2} s | {removed / result.Duration.TotalSeconds:N0} | {during.Throughput:N0} | {Ms(during, 50)} | {Ms(during, 99)} | {Ms(during, 99.9)} | {during.Histogram.GetMaxValue() / 1000.0:F1} |");
        }
    }

    /// <summary>
    /// Expired rows written straight into the table. Partitioned, they go to the next bucket and the measurement
    /// waits until that bucket (plus one of grace) has passed, so that the run can drop it.
    /// </summary>
    private static async Task LoadExpiredRowsAsync(NpgsqlDataSource admin, string quoted, string tableName, bool partitioned, byte[] payload)
    {
        var json = $"{{\"b64\": \"{Convert.ToBase64String(payload)[..PayloadBytes]}\"}}";
        var (expire, bucketColumn, bucket) = partitioned
            ? ("now() + interval '1 second'", ", bucket", $", date_bin(m.bucket_width, now() + interval '1 second', {OriginLiteral}) + m.bucket_width")
            : ("now() - interval '1 minute'", "", "");
        var from = partitioned ? $"generate_series(1, $2) AS g, \"public\".\"{tableName}_partitioning\" AS m" : "generate_series(1, $2) AS g";
        await using (var command = admin.CreateCommand($"""
            INSERT INTO {quoted} (sid, sess, expire, sliding_expiration{bucketColumn})
            SELECT 'expired-' || g || '-' || $3, $1::jsonb, {expire}, interval '20 minutes'{bucket}
            FROM {from}
            """))
        {
            command.Parameters.AddWithValue(json);
            command.Parameters.AddWithValue(ExpiredRows);
            command.Parameters.AddWithValue(Guid.NewGuid().ToString("N"));
            await command.ExecuteNonQueryAsync();
        }

        if (partitioned)
        {
            var waitSeconds = await ScalarAsync<double>(admin,
                $"SELECT extract(epoch FROM max(bucket) + interval '5 seconds' - now())::float8 FROM {quoted} WHERE sid LIKE 'expired-%'");
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, waitSeconds) + 0.5));
        }

        await ExecuteAsync(admin, $"VACUUM ANALYZE {quoted}");
    }

    private const string OriginLiteral = "timestamptz '2000-01-01 00:00:00+00'";

    private static async Task<(Result Result, TimeSpan Elapsed)> ReadWhileAsync(PostgresSessionCache cache, Func<Task> during)
    {
        using var stop = new CancellationTokenSource();
        var histograms = Enumerable.Range(0, Readers).Select(_ => new LongHistogram(60_000_000, 3)).ToArray();
        var started = Stopwatch.GetTimestamp();
        var readers = histograms.Select((histogram, reader) => Task.Run(async () =>
        {
            var random = new Random(reader);
            while (!stop.IsCancellationRequested)
            {
                var key = Key(random.Next(LiveSessions));
                var start = Stopwatch.GetTimestamp();
                await cache.GetAsync(key);
                await cache.RefreshAsync(key);
                histogram.RecordValue((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        })).ToArray();

        await during();
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var total = new LongHistogram(60_000_000, 3);
        foreach (var histogram in histograms)
        {
            total.Add(histogram);
        }

        return (new Result(total, total.TotalCount / elapsed.TotalSeconds), elapsed);
    }

    private static string Ms(Result result, double percentile) => (result.Histogram.GetValueAtPercentile(percentile) / 1000.0).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);

    private static string Key(int i) => $"00000000-0000-0000-0000-{i:D12}";

    private sealed record Result(LongHistogram Histogram, double Throughput);
}
