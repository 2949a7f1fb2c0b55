using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

public sealed class PartitionedPostgresSessionCacheTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static PostgresPartitioningOptions OneSecondBuckets(int horizonSeconds = 60) =>
        new() { Interval = TimeSpan.FromSeconds(1), Horizon = TimeSpan.FromSeconds(horizonSeconds) };

    [Fact]
    public async Task Concurrent_sets_gets_refreshes_and_removes_of_the_same_keys_keep_one_row_per_key()
    {
        // One-second buckets and a touch on every read: rows move between partitions all the time.
        using var table = new PostgresTestTable(server, o => (o.TouchThreshold, o.Partitioning) = (0, OneSecondBuckets()));
        var stableKeys = Enumerable.Range(0, 4).Select(i => $"stable-{i}-{Guid.NewGuid()}").ToArray();
        var churnKeys = Enumerable.Range(0, 4).Select(i => $"churn-{i}-{Guid.NewGuid()}").ToArray();
        foreach (var key in stableKeys)
        {
            await table.Cache.SetAsync(key, Encoding.UTF8.GetBytes(key), Sliding(40), Token);
        }

        using var stop = new CancellationTokenSource();
        var duplicatesSeen = 0L;
        var placesOfStableKeys = new HashSet<string>();
        var auditor = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                duplicatesSeen += await table.ScalarAsync<long>("SELECT count(*) FROM (SELECT sid FROM {table} GROUP BY sid HAVING count(*) > 1) AS d");
                placesOfStableKeys.UnionWith((await table.ScalarAsync<string[]>("SELECT array_agg(sid || ' in ' || bucket) FROM {table} WHERE sid LIKE 'stable-%'"))!);
            }
        }, Token);

        var writers = Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 200; i++)
            {
                var stable = random.Next(2) == 0;
                var key = stable ? stableKeys[random.Next(stableKeys.Length)] : churnKeys[random.Next(churnKeys.Length)];
                switch (random.Next(10))
                {
                    case < 3:
                        await table.Cache.SetAsync(key, Encoding.UTF8.GetBytes(key), Sliding(random.Next(20, 59)), Token);
                        break;
                    case < 6:
                        var value = await table.Cache.GetAsync(key, Token);
                        // A stable key is never removed and never idle long enough to expire: a miss is a lost session.
                        Assert.True(!stable || value is not null, "a live session read as missing");
                        Assert.True(value is null || Encoding.UTF8.GetString(value) == key);
                        break;
                    case < 8:
                        await table.Cache.RefreshAsync(key, Token);
                        break;
                    default:
                        if (!stable)
                        {
                            await table.Cache.RemoveAsync(key, Token);
                        }

                        break;
                }
            }
        }, Token)).ToArray();

        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await auditor;

        Assert.Equal(0L, duplicatesSeen);
        foreach (var key in stableKeys.Concat(churnKeys))
        {
            await table.Cache.SetAsync(key, Encoding.UTF8.GetBytes("final " + key), Sliding(40), Token);
            Assert.Equal(1L, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid = $1", key));
            Assert.Equal("final " + key, Encoding.UTF8.GetString((await table.Cache.GetAsync(key, Token))!));
        }

        // The run only proves something if rows really did move between partitions while it went on.
        Assert.True(placesOfStableKeys.Count > stableKeys.Length * 3, $"stable keys seen in only {placesOfStableKeys.Count} places");
    }

    [Fact]
    public async Task A_row_lives_in_the_first_bucket_after_its_expiry_and_moves_only_forward()
    {
        using var table = new PostgresTestTable(server, o => (o.TouchThreshold, o.Partitioning) = (0, OneSecondBuckets()));
        var key = Guid.NewGuid().ToString();

        await table.Cache.SetAsync(key, [1], Sliding(10), Token);
        Assert.Equal(1L, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid = $1 AND bucket > expire AND bucket - expire <= interval '1 second'", key));
        var first = await table.ScalarAsync<DateTime>("SELECT bucket FROM {table} WHERE sid = $1", key);

        await table.Cache.SetAsync(key, [2], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(2) }, Token);
        Assert.Equal(first, await table.ScalarAsync<DateTime>("SELECT bucket FROM {table} WHERE sid = $1", key));

        await table.Cache.SetAsync(key, [3], Sliding(30), Token);
        Assert.True(await table.ScalarAsync<DateTime>("SELECT bucket FROM {table} WHERE sid = $1", key) > first);

        await table.Cache.SetAsync(key, [4], new DistributedCacheEntryOptions(), Token);
        Assert.Equal("infinity", await table.ScalarAsync<string>("SELECT bucket::text FROM {table} WHERE sid = $1", key));
        Assert.Equal([4], await table.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task An_instance_starting_behind_a_long_read_serves_at_once_and_leaves_the_partition_it_could_not_lock_to_the_cleanup()
    {
        using var table = new PostgresTestTable(server, o => o.Partitioning = OneSecondBuckets(30));
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await SessionStore.Tests.Cleanup.PostgresSessionCleanerTests.DropFurthestPartitionAsync(table);

        // A long read (a report, pg_dump) holds the table while another instance starts.
        await using var reading = await table.LongReadAsync();

        // Its first request checks the schema, which would create the missing partition: it must not wait for the read.
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<PostgresSessionCache>();
        using var starting = table.AnotherInstance(logger, operationTimeout: TimeSpan.FromSeconds(2));
        var key = Guid.NewGuid().ToString();
        await starting.SetAsync(key, [1], Sliding(20), Token);
        Assert.Equal([1], await starting.GetAsync(key, Token));
        await reading.DisposeAsync();
        var postponed = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.PostgresPartitionsPostponed);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, postponed.Level);

        var cleanup = await new SessionStore.Cleanup.PostgresSessionCleaner(starting, new SessionStore.Cleanup.PostgresCleanupOptions()).RunOnceAsync(Token);
        Assert.True(cleanup.PartitionsCreated > 0, "the partition left behind was not created by the cleanup");
    }

    [Fact]
    public async Task A_forever_partition_dropped_by_hand_is_made_again_by_the_first_call_with_its_index()
    {
        using var table = new PostgresTestTable(server, o => o.Partitioning = OneSecondBuckets(30));
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await table.ScalarAsync<object>($"DROP TABLE \"{table.Options.TableName}_forever\"");

        // Its index went with it. Taken for an index of the table in use, it kept the first call from making the
        // partition again, and every write without expiry failed: no partition of the table held it.
        using var starting = table.AnotherInstance();
        var key = Guid.NewGuid().ToString();
        await starting.SetAsync(key, [1], new DistributedCacheEntryOptions(), Token);

        Assert.Equal([1], await starting.GetAsync(key, Token));
        Assert.True(await table.ScalarAsync<bool>("SELECT to_regclass($1) IS NOT NULL", $"\"{table.Options.TableName}_expire_idx\""));
    }

    [Fact]
    public async Task A_forever_partition_dropped_by_hand_with_the_user_index_is_made_again_by_the_first_call_which_leaves_the_index()
    {
        using var table = new PostgresTestTable(server, o => o.Partitioning = OneSecondBuckets(30));
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await table.ScalarAsync<object>($"DROP TABLE \"{table.Options.TableName}_forever\"");
        await table.ScalarAsync<object>($"DROP INDEX \"{table.Options.TableName}_user_id_idx\"");

        // One script makes both. Skipped whole for the index a first call must not build, it left the partition
        // missing too, and every write without expiry failed: no partition of the table held it.
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<PostgresSessionCache>();
        using var starting = table.AnotherInstance(logger);
        var key = Guid.NewGuid().ToString();
        await starting.SetAsync(key, [1], new DistributedCacheEntryOptions(), Token);

        Assert.Equal([1], await starting.GetAsync(key, Token));
        Assert.True(await table.ScalarAsync<bool>("SELECT to_regclass($1) IS NOT NULL", $"\"{table.Options.TableName}_expire_idx\""));
        var left = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.PostgresRelationsMissing);
        Assert.Contains($"{table.Options.TableName}_user_id_idx", left.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("_forever", left.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forever_partition_dropped_by_hand_behind_a_long_read_is_left_to_the_migrator_and_expiring_writes_go_on()
    {
        using var table = new PostgresTestTable(server, o => o.Partitioning = OneSecondBuckets(30));
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await table.ScalarAsync<object>($"DROP TABLE \"{table.Options.TableName}_forever\"");
        await using var reading = await table.LongReadAsync();

        // Making the partition again needs the table's lock, which the read holds: the lock timeout failed every call.
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger<PostgresSessionCache>();
        using var starting = table.AnotherInstance(logger);
        var key = Guid.NewGuid().ToString();
        await starting.SetAsync(key, [1], Sliding(20), Token);
        Assert.Equal([1], await starting.GetAsync(key, Token));
        await reading.DisposeAsync();

        var left = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.PostgresRelationsMissing);
        Assert.Contains($"{table.Options.TableName}_forever", left.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Past_the_horizon_rows_go_to_the_forever_partition()
    {
        using var table = new PostgresTestTable(server, o => o.Partitioning = OneSecondBuckets(horizonSeconds: 5));
        var key = Guid.NewGuid().ToString();

        await table.Cache.SetAsync(key, [1], Sliding(60), Token);

        Assert.Equal(table.Options.TableName + "_forever", await table.ScalarAsync<string>("SELECT tableoid::regclass::text FROM {table} WHERE sid = $1", key));
        Assert.Equal([1], await table.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task The_migrator_refuses_to_treat_a_plain_table_as_partitioned()
    {
        var name = PostgresServer.UniqueTableName("m");
        await new PostgresSchemaMigrator(server.DataSource, "public", name).MigrateAsync(Token);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new PostgresSchemaMigrator(server.DataSource, "public", name, new PostgresPartitioningOptions()).MigrateAsync(Token));
        Assert.Contains("exists and is not partitioned", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_partitioned_script_quotes_every_identifier()
    {
        var script = new PostgresSchemaMigrator(server.DataSource, "My\"Schema", "Sessions", new PostgresPartitioningOptions()).GetScript();

        Assert.Contains("CREATE TABLE IF NOT EXISTS \"My\"\"Schema\".\"Sessions\" (", script, StringComparison.Ordinal);
        Assert.Contains("\"My\"\"Schema\".\"Sessions_forever\" PARTITION OF \"My\"\"Schema\".\"Sessions\"", script, StringComparison.Ordinal);
        Assert.Contains("\"My\"\"Schema\".\"Sessions_partitioning\"", script, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partitioned_table_with_awkward_names_is_created_and_used()
    {
        using var table = new PostgresTestTable(server, o =>
        {
            o.SchemaName = "Sessions \"Q\"";
            o.TableName = "Part'd " + Guid.NewGuid().ToString("N")[..8];
            o.Partitioning = OneSecondBuckets(horizonSeconds: 10);
        });
        var key = Guid.NewGuid().ToString();

        await table.Cache.SetAsync(key, [9], Sliding(5), Token);

        Assert.Equal([9], await table.Cache.GetAsync(key, Token));
        Assert.True(await table.ScalarAsync<long>("SELECT count(*) FROM pg_inherits WHERE inhparent = $1::regclass", table.QualifiedName) >= 10);
    }

    [Fact]
    public async Task Logging_out_a_user_everywhere_deletes_their_expired_rows_too_but_counts_only_live_sessions()
    {
        // Across partitions: the live session in the forever partition (past the horizon), the expired ones in buckets.
        using var table = new PostgresTestTable(server, o => (o.UserIdSessionKey, o.Partitioning) = ("UserId", OneSecondBuckets(30)));
        var ada = new Internal.TestSessionPayload(new byte[16], [new("UserId", "ada"u8.ToArray())]).ToBytes();
        var live = Guid.NewGuid().ToString();
        var expired = new[] { Guid.NewGuid().ToString(), Guid.NewGuid().ToString() };
        await table.Cache.SetAsync(live, ada, Sliding(3600), Token);
        foreach (var key in expired)
        {
            await table.Cache.SetAsync(key, ada, Sliding(10), Token);
        }

        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() - interval '1 minute' WHERE sid = ANY($1)", (object)expired);

        Assert.Equal(1, await table.Cache.RevokeUserSessionsAsync("ada", Token));

        Assert.Equal(0L, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE user_id = 'ada'"));
    }

    private static DistributedCacheEntryOptions Sliding(int seconds) => new() { SlidingExpiration = TimeSpan.FromSeconds(seconds) };

}
