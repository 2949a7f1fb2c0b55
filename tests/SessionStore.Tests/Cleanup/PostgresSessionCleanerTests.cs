using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using SessionStore.Cleanup;
using SessionStore.Postgres;
using SessionStore.Tests.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cleanup;

public sealed class PostgresSessionCleanerTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static PostgresCleanupOptions Fast(int batchSize = 5_000) => new()
    {
        BatchSize = batchSize,
        PauseBetweenBatches = TimeSpan.Zero,
        MaximumRunTime = TimeSpan.FromMinutes(5),
    };

    [Fact]
    public async Task Every_expired_row_goes_and_no_live_one_while_sessions_are_refreshed_and_revived()
    {
        using var table = new PostgresTestTable(server, o => o.TouchThreshold = 0);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 200_000, "now() - interval '1 second' - g * interval '10 milliseconds'");
        await InsertRowsAsync(table, "live", 50_000, "now() + interval '1 hour'");
        var cleaner = new PostgresSessionCleaner(table.Cache, Fast());

        // Meanwhile users come back: live sessions are refreshed, and expired keys are written again (as the
        // session middleware does for a cookie whose session is gone). Those must survive the cleanup.
        using var stop = new CancellationTokenSource();
        var revived = new ConcurrentBag<string>();
        var traffic = Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            while (!stop.IsCancellationRequested)
            {
                await table.Cache.RefreshAsync($"live-{random.Next(1, 50_001)}", Token);
                var key = $"expired-{random.Next(1, 200_001)}";
                await table.Cache.SetAsync(key, [1, 2, 3], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
                revived.Add(key);
            }
        }, Token)));

        var result = await cleaner.RunOnceAsync(Token);
        await stop.CancelAsync();
        await traffic;

        Assert.False(result.SkippedBecauseLocked);
        Assert.NotEmpty(revived);
        Assert.Equal(0L, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE expire <= now()"));
        Assert.Equal(50_000L, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid LIKE 'live-%' AND expire > now()"));
        var distinctRevived = revived.Distinct().ToArray();
        Assert.Equal(distinctRevived.Length, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid = ANY($1) AND expire > now()", (object)distinctRevived));

        // A key revived before the cleaner reached it was not deleted; one revived after was deleted, then written anew.
        Assert.InRange(result.RowsDeleted, 200_000 - distinctRevived.Length, 200_000);
        Assert.True(result.Batches >= result.RowsDeleted / 5_000, $"{result.Batches} batches");
    }

    [Fact]
    public async Task Of_two_instances_at_once_one_cleans_and_the_other_skips_and_says_so()
    {
        using var table = new PostgresTestTable(server);
        using var otherInstance = new PostgresSessionCache(table.Options);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 2_000, "now() - interval '1 minute'");
        var slow = new PostgresCleanupOptions { BatchSize = 1_000, PauseBetweenBatches = TimeSpan.FromMilliseconds(700) };
        var firstLogger = new FakeLogger<PostgresSessionCleaner>();
        var secondLogger = new FakeLogger<PostgresSessionCleaner>();
        var first = new PostgresSessionCleaner(table.Cache, new MutableOptionsMonitor<PostgresCleanupOptions>(slow), firstLogger, TimeProvider.System, null);
        var second = new PostgresSessionCleaner(otherInstance, new MutableOptionsMonitor<PostgresCleanupOptions>(slow), secondLogger, TimeProvider.System, null);

        var firstRun = first.RunOnceAsync(Token);
        await WaitUntilAsync(async () => await table.ScalarAsync<long>("SELECT count(*) FROM {table}") <= 1_000);
        var skipped = await second.RunOnceAsync(Token);
        var worked = await firstRun;

        Assert.True(skipped.SkippedBecauseLocked);
        Assert.Equal(0, skipped.RowsDeleted);
        Assert.Contains(secondLogger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.CleanupSkippedLocked && r.Message.Contains(table.Options.TableName, StringComparison.Ordinal));
        Assert.False(worked.SkippedBecauseLocked);
        Assert.Equal(2_000, worked.RowsDeleted);
        Assert.Contains(firstLogger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.CleanupRunCompleted);

        // The lock went with the run: the next one is not skipped.
        Assert.False((await second.RunOnceAsync(Token)).SkippedBecauseLocked);
    }

    [Fact]
    public async Task Cancelling_a_run_midway_leaves_no_open_transaction_and_no_lock()
    {
        var applicationName = "cleaner-" + Guid.NewGuid().ToString("N")[..8];
        using var table = new PostgresTestTable(server, o => o.ConnectionString += ";Application Name=" + applicationName);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 100_000, "now() - interval '1 minute'");
        var cleaner = new PostgresSessionCleaner(table.Cache, Fast(batchSize: 1_000));

        using var cancel = new CancellationTokenSource();
        var run = cleaner.RunOnceAsync(cancel.Token);
        await WaitUntilAsync(async () => await table.ScalarAsync<long>("SELECT count(*) FROM {table}") < 100_000);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        // The call returns as the token is cancelled; the run's rollback and unlock follow in the background.
        await WaitUntilAsync(async () => await table.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND (state LIKE 'idle in transaction%' OR xact_start IS NOT NULL)", applicationName) == 0);
        await WaitUntilAsync(async () => await table.ScalarAsync<long>(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = $1 AND l.locktype = 'advisory'", applicationName) == 0);
        Assert.True(await table.ScalarAsync<long>("SELECT count(*) FROM {table}") > 0, "the run finished before it was cancelled");
        Assert.False((await cleaner.RunOnceAsync(Token)).SkippedBecauseLocked);
    }

    [Fact]
    public async Task A_run_stops_at_its_maximum_run_time()
    {
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 300, "now() - interval '1 minute'");
        var cleaner = new PostgresSessionCleaner(table.Cache, new PostgresCleanupOptions
        {
            BatchSize = 100,
            PauseBetweenBatches = TimeSpan.FromMilliseconds(600),
            MaximumRunTime = TimeSpan.FromSeconds(1),
        });

        var result = await cleaner.RunOnceAsync(Token);

        Assert.True(result.ReachedMaximumRunTime);
        Assert.Equal(2, result.Batches);
        Assert.Equal(100L, await table.ScalarAsync<long>("SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task Runs_report_rows_batches_duration_and_skips_as_metrics_tagged_with_the_table()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var rows = new MetricCollector<long>(meterFactory, SessionStoreMetrics.MeterName, "sessionstore.cleanup.rows_deleted");
        using var batches = new MetricCollector<long>(meterFactory, SessionStoreMetrics.MeterName, "sessionstore.cleanup.batches");
        using var runs = new MetricCollector<long>(meterFactory, SessionStoreMetrics.MeterName, "sessionstore.cleanup.runs");
        using var duration = new MetricCollector<double>(meterFactory, SessionStoreMetrics.MeterName, "sessionstore.cleanup.run.duration");
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 250, "now() - interval '1 minute'");
        var cleaner = new PostgresSessionCleaner(table.Cache, new MutableOptionsMonitor<PostgresCleanupOptions>(Fast(batchSize: 100)), new FakeLogger<PostgresSessionCleaner>(), TimeProvider.System, meterFactory);

        await cleaner.RunOnceAsync(Token);
        await using (var connection = await server.DataSource.OpenConnectionAsync(Token))
        {
            // Another instance holding the lock.
            await using var hold = connection.CreateCommand();
            hold.CommandText = "SELECT pg_advisory_lock(hashtextextended($1, 0))";
            hold.Parameters.AddWithValue("sessionstore.cleanup:" + table.QualifiedName);
            await hold.ExecuteNonQueryAsync(Token);
            Assert.True((await cleaner.RunOnceAsync(Token)).SkippedBecauseLocked);
        }

        var tableTag = $"public.{table.Options.TableName}";
        Assert.Equal(250, rows.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, batches.GetMeasurementSnapshot().Count);
        Assert.All(rows.GetMeasurementSnapshot(), m => Assert.Equal(tableTag, m.Tags["db.collection.name"]));
        Assert.Equal(["completed", "skipped_locked"], runs.GetMeasurementSnapshot().Select(m => (string)m.Tags["sessionstore.cleanup.outcome"]!));
        Assert.Single(duration.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task A_partitioned_table_drops_expired_partitions_deletes_expired_forever_rows_and_creates_partitions_ahead()
    {
        using var table = new PostgresTestTable(server, o => o.Partitioning = new PostgresPartitioningOptions
        {
            Interval = TimeSpan.FromSeconds(1),
            Horizon = TimeSpan.FromSeconds(30),
        });
        await table.Cache.EnsureSchemaReadyAsync(Token);
        var shortLived = new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(1) };
        for (var i = 0; i < 300; i++)
        {
            await table.Cache.SetAsync($"short-{i}", [1], shortLived, Token);
            await table.Cache.SetAsync($"live-{i}", [2], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(20) }, Token);
        }

        await table.Cache.SetAsync("long-lived", [3], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromHours(2) }, Token);
        await InsertRowsAsync(table, "forever-expired", 1_000, "now() - interval '1 minute'", bucket: "'infinity'");
        var partitionsBefore = await PartitionCountAsync(table);

        // Every bucket the short-lived rows can be in ends within 2 s; one more interval of grace after that.
        await Task.Delay(TimeSpan.FromSeconds(3.5), Token);
        var runStarted = await table.ScalarAsync<DateTime>("SELECT now()");
        var result = await new PostgresSessionCleaner(table.Cache, Fast()).RunOnceAsync(Token);

        Assert.Equal(1_000, result.RowsDeleted);
        Assert.InRange(result.PartitionsDropped, 2, 10);
        Assert.InRange(result.PartitionsCreated, 2, 10);
        Assert.Equal(partitionsBefore + result.PartitionsCreated - result.PartitionsDropped, await PartitionCountAsync(table));
        Assert.Equal(0L, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid LIKE 'short-%' OR sid LIKE 'forever-expired-%'"));
        Assert.Equal(300L, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid LIKE 'live-%' AND bucket <> 'infinity'"));
        Assert.Equal("infinity", await table.ScalarAsync<string>("SELECT bucket::text FROM {table} WHERE sid = 'long-lived'"));
        Assert.Equal(0L, await table.ScalarAsync<long>("""
            SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::regclass AND c.relname <> $2
              AND (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'IN \(''([^'']*)''\)'))[1]::timestamptz + interval '1 second' <= $3
            """, table.QualifiedName, table.Options.TableName + "_forever", runStarted));
        Assert.Equal([2], await table.Cache.GetAsync("live-7", Token));
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("commit")]
    public async Task A_batch_longer_than_the_caches_operation_timeout_runs_up_to_its_statement_timeout(string slowPart)
    {
        // Npgsql's own timeout on these connections is the cache's OperationTimeout; it must not cut a batch that the
        // cleanup's StatementTimeout allows, in its DELETE or in its COMMIT (which runs deferred triggers).
        using var table = new PostgresTestTable(server, o => o.OperationTimeout = TimeSpan.FromSeconds(1));
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 10, "now() - interval '1 minute'");
        var slowCommit = $"slow_commit_{Guid.NewGuid():N}";
        await table.ScalarAsync<object>(slowPart == "delete"
            ? SlowDeletes("{table}", TimeSpan.FromSeconds(2.5))
            : $$"""
                CREATE FUNCTION {{slowCommit}}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.25); RETURN NULL; END $$;
                CREATE CONSTRAINT TRIGGER slow_commit AFTER DELETE ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {{slowCommit}}();
                """);

        var result = await new PostgresSessionCleaner(table.Cache, new PostgresCleanupOptions { StatementTimeout = TimeSpan.FromSeconds(10) }).RunOnceAsync(Token);

        Assert.Equal(10, result.RowsDeleted);
        Assert.Equal(0L, await table.ScalarAsync<long>("SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task The_cleanup_session_asks_for_tcp_keepalives_and_a_user_timeout_so_that_a_vanished_instance_frees_the_lock_within_about_a_minute()
    {
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 1, "now() - interval '1 minute'");
        var seen = $"keepalives_{Guid.NewGuid():N}";
        var function = $"record_keepalives_{Guid.NewGuid():N}";
        // The batch's own session records its settings, from a trigger.
        await table.ScalarAsync<object>($$"""
            CREATE TABLE {{seen}} (settings text);
            CREATE FUNCTION {{function}}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
                INSERT INTO {{seen}} SELECT current_setting('tcp_keepalives_idle') || '/' || current_setting('tcp_keepalives_interval') || '/' || current_setting('tcp_keepalives_count') || '/' || current_setting('tcp_user_timeout');
                RETURN NULL; END $$;
            CREATE TRIGGER record_keepalives BEFORE DELETE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {{function}}();
            """);

        await new PostgresSessionCleaner(table.Cache, new PostgresCleanupOptions()).RunOnceAsync(Token);

        Assert.Equal("30/10/3/60000", await table.ScalarAsync<string>($"SELECT settings FROM {seen}"));
    }

    [Fact]
    public async Task A_batch_past_its_statement_timeout_fails_with_the_servers_error_and_leaves_the_lock_free()
    {
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 10, "now() - interval '1 minute'");
        await SlowDeletesAsync(table, TimeSpan.FromSeconds(3));
        var cleaner = new PostgresSessionCleaner(table.Cache, new PostgresCleanupOptions { StatementTimeout = TimeSpan.FromMilliseconds(300) });

        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => cleaner.RunOnceAsync(Token));

        Assert.Equal(Npgsql.PostgresErrorCodes.QueryCanceled, error.SqlState);
        Assert.Contains("statement timeout", error.MessageText, StringComparison.Ordinal);
        await table.ScalarAsync<object>("DROP TRIGGER slow_delete ON {table}");
        var next = await cleaner.RunOnceAsync(Token);
        Assert.False(next.SkippedBecauseLocked);
        Assert.Equal(10, next.RowsDeleted);
    }

    [Fact]
    public async Task Partition_maintenance_waits_for_its_lock_up_to_its_lock_timeout_even_past_the_caches_operation_timeout()
    {
        using var table = new PostgresTestTable(server, o =>
        {
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            o.Partitioning = new PostgresPartitioningOptions { Interval = TimeSpan.FromSeconds(1), Horizon = TimeSpan.FromSeconds(30) };
        });
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await DropFurthestPartitionAsync(table);

        // Another maintainer (an instance creating the table's partitions) holds their lock for two seconds.
        await using var other = await server.DataSource.OpenConnectionAsync(Token);
        await using var holdLock = new Npgsql.NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended($1, 0))", other) { Parameters = { new() { Value = "sessionstore.partitions:" + table.QualifiedName } } };
        await holdLock.ExecuteScalarAsync(Token);
        var release = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(2), Token);
            await using var unlock = new Npgsql.NpgsqlCommand("SELECT pg_advisory_unlock_all()", other);
            await unlock.ExecuteScalarAsync(Token);
        }, Token);
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var result = await new PostgresSessionCleaner(table.Cache, new PostgresCleanupOptions { LockTimeout = TimeSpan.FromSeconds(5) }).RunOnceAsync(Token);
        await release;

        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(1.5), $"the run took {watch.Elapsed}: it did not wait for the lock");
        Assert.True(result.PartitionsCreated > 0, $"the partition dropped ahead was not created again: {result.PartitionsCreated} created");
    }

    [Fact]
    public async Task Partition_maintenance_that_reaches_its_statement_timeout_is_postponed_and_the_batches_still_run()
    {
        using var table = new PostgresTestTable(server, o => o.Partitioning = new PostgresPartitioningOptions { Interval = TimeSpan.FromSeconds(1), Horizon = TimeSpan.FromSeconds(30) });
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await DropFurthestPartitionAsync(table);
        await InsertRowsAsync(table, "forever-expired", 10, "now() - interval '1 minute'", bucket: "'infinity'");

        // A long read (a report, pg_dump) holds the table; LockTimeout is longer than StatementTimeout.
        await using var reading = await table.LongReadAsync();

        var logger = new FakeLogger<PostgresSessionCleaner>();
        var options = new MutableOptionsMonitor<PostgresCleanupOptions>(new PostgresCleanupOptions { LockTimeout = TimeSpan.FromSeconds(3), StatementTimeout = TimeSpan.FromSeconds(1) });
        var result = await new PostgresSessionCleaner(table.Cache, options, logger, TimeProvider.System, null).RunOnceAsync(Token);

        Assert.Equal((10L, 0), (result.RowsDeleted, result.PartitionsCreated));
        var postponed = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.CleanupPartitionsPostponed);
        Assert.Contains("statement timeout of 1000 ms", postponed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_multiplexing_data_source_is_refused_naming_the_setting_before_any_row_is_touched()
    {
        await using var multiplexing = Npgsql.NpgsqlDataSource.Create(server.ConnectionString + ";Multiplexing=true");
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await InsertRowsAsync(table, "expired", 5, "now() - interval '1 minute'");
        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { DataSource = multiplexing, SchemaName = table.Options.SchemaName, TableName = table.Options.TableName });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new PostgresSessionCleaner(cache, new PostgresCleanupOptions()).RunOnceAsync(Token));

        Assert.Contains("Multiplexing=true", error.Message, StringComparison.Ordinal);
        Assert.Equal(5L, await table.ScalarAsync<long>("SELECT count(*) FROM {table}"));
    }

    /// <summary>Drops the partition furthest ahead, so that maintenance has one to create.</summary>
    internal static async Task DropFurthestPartitionAsync(PostgresTestTable table)
    {
        var furthest = await table.ScalarAsync<string>("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::regclass AND c.relname <> $2 ORDER BY c.relname DESC LIMIT 1
            """, table.QualifiedName, table.Options.TableName + "_forever");
        await table.ScalarAsync<object>($"DROP TABLE \"{furthest}\"");
    }

    private static Task SlowDeletesAsync(PostgresTestTable table, TimeSpan duration) =>
        table.ScalarAsync<object>(SlowDeletes("{table}", duration));

    /// <summary>SQL that makes every DELETE on <paramref name="table"/> take <paramref name="duration"/> on the server: a statement-level trigger named slow_delete.</summary>
    internal static string SlowDeletes(string table, TimeSpan duration)
    {
        var function = $"slow_delete_{Guid.NewGuid():N}";
        return $$"""
            CREATE FUNCTION {{function}}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep({{duration.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}}); RETURN NULL; END $$;
            CREATE TRIGGER slow_delete BEFORE DELETE ON {{table}} FOR EACH STATEMENT EXECUTE FUNCTION {{function}}();
            """;
    }

    /// <summary>Rows written with one INSERT … SELECT, straight into the table: keys <c>{prefix}-1</c> to <c>{prefix}-{count}</c>.</summary>
    internal static Task InsertRowsAsync(PostgresTestTable table, string prefix, int count, string expireSql, string? bucket = null) =>
        table.ScalarAsync<object>($$"""
            INSERT INTO {table} (sid, sess, expire, sliding_expiration{{(bucket is null ? "" : ", bucket")}})
            SELECT $1 || '-' || g, '{"b64": "AQID"}'::jsonb, {{expireSql}}, interval '20 minutes'{{(bucket is null ? "" : ", " + bucket)}}
            FROM generate_series(1, $2) AS g
            """, prefix, count);

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true within 30 s");
            await Task.Delay(10, Token);
        }
    }

    private static Task<long> PartitionCountAsync(PostgresTestTable table) =>
        table.ScalarAsync<long>("SELECT count(*) FROM pg_inherits WHERE inhparent = $1::regclass", table.QualifiedName);
}
