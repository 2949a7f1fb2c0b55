using System.Diagnostics;
using SessionStore.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Migration;

/// <summary>Runs alone: 100,000 sessions written and copied at full speed would slow every other test's servers.</summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class BackfillCollection;

[Collection(typeof(BackfillCollection))]
public sealed class RedisToPostgresBackfillTests(PostgresServer postgres, RedisServer redis, ITestOutputHelper output) : IDisposable
{
    private readonly MigrationScenario _scenario = new(postgres, redis);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Copies_100000_RedisCache_sessions_across_an_interruption_without_losing_or_resurrecting_any()
    {
        await _scenario.CreateTableAsync();
        var written = Stopwatch.StartNew();
        var keys = await _scenario.WriteRedisSessionsAsync(100_000);
        output.WriteLine($"Wrote 100,000 sessions with RedisCache in {written.Elapsed.TotalSeconds:F1} s.");

        // Logouts during the backfill, in the order DualWriteCache deletes: Redis (the primary) first, then PostgreSQL.
        var deleted = new List<string>();
        using var stopDeleting = new CancellationTokenSource();
        var deleter = Task.Run(async () =>
        {
            var random = new Random(7);
            while (!stopDeleting.IsCancellationRequested && deleted.Count < 3_000)
            {
                var key = keys[random.Next(keys.Length)];
                await _scenario.Redis.KeyDeleteAsync(_scenario.Prefix + key);
                await _scenario.Postgres.RemoveAsync(key, CancellationToken.None);
                lock (deleted)
                {
                    deleted.Add(key);
                }

                await Task.Delay(1, CancellationToken.None);
            }
        }, CancellationToken.None);

        var checkpoint = Path.Combine(Path.GetTempPath(), $"backfill-{Guid.NewGuid():N}.json");
        var options = new BackfillOptions { CheckpointPath = checkpoint };
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var first = Stopwatch.StartNew();
        BackfillProgress? last = null;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new RedisToPostgresBackfill(_scenario.Options()).RunAsync(
            options,
            new SynchronousProgress<BackfillProgress>(p =>
            {
                last = p;
                if (p.Scanned >= 40_000)
                {
                    interrupt.Cancel();
                }
            }),
            interrupt.Token));
        output.WriteLine($"Interrupted after {last!.Scanned} scanned, {last.Copied} copied in {first.Elapsed.TotalSeconds:F1} s.");
        Assert.True(File.Exists(checkpoint));
        Assert.InRange(last.Scanned, 40_000, 60_000);

        var second = Stopwatch.StartNew();
        var result = await new RedisToPostgresBackfill(_scenario.Options()).RunAsync(options, cancellationToken: Token);
        var rate = (result.Scanned - last.Scanned) / second.Elapsed.TotalSeconds;
        output.WriteLine($"Resumed: {result.Scanned} scanned, {result.Copied} copied, {result.AlreadyPresent} present, {result.Skipped} skipped, " +
            $"{result.ResurrectionsAvoided} resurrections avoided, {result.Errors} errors; {rate:F0} sessions/s.");
        await stopDeleting.CancelAsync();
        await deleter;

        Assert.True(result.Resumed);
        Assert.True(result.Completed);
        Assert.False(File.Exists(checkpoint));
        Assert.Equal(0, result.Errors);
        var inRedis = await _scenario.RedisKeysAsync();
        var inPostgres = await _scenario.PostgresKeysAsync();
        Assert.Equal(100_000 - deleted.Distinct().Count(), inRedis.Count);
        Assert.Empty(inRedis.Except(inPostgres));    // none lost
        Assert.Empty(inPostgres.Intersect(deleted)); // none resurrected
        Assert.Equal(inRedis.Count, inPostgres.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a partitioned table returned no row version from its insert: every copy failed
    public async Task A_session_deleted_in_Redis_while_it_is_copied_is_taken_back(bool partitioned)
    {
        using var scenario = new MigrationScenario(postgres, redis, partitioning: partitioned ? new SessionStore.Postgres.PostgresPartitioningOptions() : null);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(10);
        string? loggedOut = null;
        var backfill = new RedisToPostgresBackfill(scenario.Options(), source => new BeforeHoldCheckSource(source, async copied =>
        {
            if (loggedOut is null)
            {
                loggedOut = copied[0];
                await scenario.Redis.KeyDeleteAsync(scenario.Prefix + loggedOut);
            }
        }));

        var result = await backfill.RunAsync(new BackfillOptions(), cancellationToken: Token);

        Assert.Equal((0, 1, 9), (result.Errors, result.ResurrectionsAvoided, result.Copied));
        Assert.DoesNotContain(loggedOut!, await scenario.PostgresKeysAsync());
        Assert.Equal(9, (await scenario.PostgresKeysAsync()).Count);
    }

    [Fact]
    public async Task The_progress_moves_while_the_listing_crosses_pages_without_sessions()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(1);
        // Other data under the prefix, which the listing skips (not a hash): most pages hold no session.
        var batch = _scenario.Redis.CreateBatch();
        var writes = Enumerable.Range(0, 20_000).Select(i => batch.StringSetAsync($"{_scenario.Prefix}other-{i}", "x")).ToList();
        batch.Execute();
        await Task.WhenAll(writes);

        var reports = 0;
        await new RedisToPostgresBackfill(_scenario.Options()).RunAsync(new BackfillOptions { BatchSize = 100 }, new SynchronousProgress<BackfillProgress>(_ => reports++), Token);

        // Reported only after a batch, it stood still across the empty pages: a long listing looked hung.
        Assert.True(reports > 10, $"{reports} progress reports over about 200 pages");
    }

    [Theory]
    [InlineData("\"garbage\"")]
    [InlineData("\"null\"")]
    [InlineData("\"{\\\"Finished\\\":null}\"")]
    [InlineData("\"{\\\"Cursor\\\":-5}\"")]
    public async Task A_checkpoint_whose_position_was_damaged_is_refused_by_name_before_anything_is_copied(string position)
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(1); // one key: the page that holds it is one batch, saved before the interrupt stops the next
        var checkpoint = Path.Combine(Path.GetTempPath(), $"damaged-{Guid.NewGuid():N}.json");
        var backfill = new RedisToPostgresBackfill(_scenario.Options());
        using (var interrupt = CancellationTokenSource.CreateLinkedTokenSource(Token))
        {
            // Interrupted after its first batch: the checkpoint of its first page is saved.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backfill.RunAsync(
                new BackfillOptions { CheckpointPath = checkpoint, BatchSize = 1 }, new SynchronousProgress<BackfillProgress>(_ => interrupt.Cancel()), interrupt.Token));
        }

        var saved = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(checkpoint, Token))!;
        saved["Position"] = System.Text.Json.Nodes.JsonNode.Parse(position);
        await File.WriteAllTextAsync(checkpoint, saved.ToJsonString(), Token);
        var copied = (await _scenario.PostgresKeysAsync()).Count;

        // It failed deep in the copy, with a JsonException or a NullReferenceException and the tool's "stopped in the middle of a batch".
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => backfill.RunAsync(new BackfillOptions { CheckpointPath = checkpoint }, cancellationToken: Token));

        Assert.Contains($"The checkpoint file {checkpoint} holds a position", error.Message, StringComparison.Ordinal);
        Assert.Contains("--restart", error.Message, StringComparison.Ordinal);
        Assert.Equal(copied, (await _scenario.PostgresKeysAsync()).Count);
    }

    [Fact]
    public async Task A_checkpoint_of_another_copy_is_refused_before_the_target_table_is_created()
    {
        await _scenario.WriteRedisSessionsAsync(3);
        var checkpoint = Path.Combine(Path.GetTempPath(), $"foreign-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(checkpoint, """{"Format":3,"Kind":"backfill","Source":"other:6379","Target":"other:5432/db public.other_table"}""", Token);
        var options = _scenario.Options();
        options.Postgres.CreateTableIfMissing = true;
        Assert.Equal(false, await _scenario.ScalarAsync("SELECT to_regclass($1) IS NOT NULL", $"\"{_scenario.Table}\""));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new RedisToPostgresBackfill(options).RunAsync(new BackfillOptions { CheckpointPath = checkpoint }, cancellationToken: Token));

        Assert.Contains("belongs to a copy from other:6379", error.Message, StringComparison.Ordinal);
        Assert.Equal(false, await _scenario.ScalarAsync("SELECT to_regclass($1) IS NOT NULL", $"\"{_scenario.Table}\""));
    }

    [Fact]
    public async Task A_newer_PostgreSQL_row_is_kept_and_lifetimes_and_users_are_copied()
    {
        await _scenario.CreateTableAsync();
        var keys = await _scenario.WriteRedisSessionsAsync(3, TimeSpan.FromMinutes(10), i => $"user{i}");
        var newer = MigrationScenario.Session(99);
        await _scenario.Postgres.SetAsync(keys[0], newer, new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);

        var result = await new RedisToPostgresBackfill(_scenario.Options()).RunAsync(new BackfillOptions { BatchSize = 2 }, cancellationToken: Token);

        Assert.Equal((3, 2, 1), (result.Scanned, result.Copied, result.AlreadyPresent));
        Assert.Equal(newer, await _scenario.Postgres.GetAsync(keys[0], Token));
        Assert.Equal(MigrationScenario.Session(1, "user1"), await _scenario.Postgres.GetAsync(keys[1], Token));
        Assert.Equal("user2", await _scenario.ScalarAsync("SELECT user_id FROM {table} WHERE sid = $1", keys[2]));
        var remaining = (TimeSpan)(await _scenario.ScalarAsync("SELECT expire - now() FROM {table} WHERE sid = $1", keys[2]))!;
        Assert.InRange(remaining, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_sliding_session_idle_for_most_of_its_window_is_copied_with_the_time_it_has_left(bool partitioned)
    {
        using var scenario = new MigrationScenario(postgres, redis, partitioning: partitioned ? new SessionStore.Postgres.PostgresPartitioningOptions { Interval = TimeSpan.FromMinutes(1), Horizon = TimeSpan.FromMinutes(30) } : null);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(2, TimeSpan.FromMinutes(20));
        // Idle for 17 of its 20 minutes: 3 left in Redis.
        await scenario.Redis.KeyExpireAsync(scenario.Prefix + keys[0], TimeSpan.FromMinutes(3));

        await new RedisToPostgresBackfill(scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);

        // Given a fresh window, the copy outlived its source by 17 minutes; once Redis expired the session, read-repair
        // brought it back from PostgreSQL and signed its user in again.
        var idle = (TimeSpan)(await scenario.ScalarAsync("SELECT expire - now() FROM {table} WHERE sid = $1", keys[0]))!;
        Assert.InRange(idle, TimeSpan.FromMinutes(2.9), TimeSpan.FromMinutes(3));
        Assert.Equal(TimeSpan.FromMinutes(20), (TimeSpan)(await scenario.ScalarAsync("SELECT sliding_expiration FROM {table} WHERE sid = $1", keys[0]))!);
        var fresh = (TimeSpan)(await scenario.ScalarAsync("SELECT expire - now() FROM {table} WHERE sid = $1", keys[1]))!;
        Assert.InRange(fresh, TimeSpan.FromMinutes(19.9), TimeSpan.FromMinutes(20));
        Assert.True((await new SessionStoreVerifier(scenario.Options()).VerifyAsync(new VerificationOptions { Full = true }, Token)).IsReadyForNextPhase);

        // A touch slides the copy a whole window again, as it does the source.
        await scenario.Postgres.RefreshAsync(keys[0], Token);
        var touched = (TimeSpan)(await scenario.ScalarAsync("SELECT expire - now() FROM {table} WHERE sid = $1", keys[0]))!;
        Assert.InRange(touched, TimeSpan.FromMinutes(19.9), TimeSpan.FromMinutes(20));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-10_000_000L)]
    public async Task An_entry_whose_sliding_window_cannot_slide_is_copied_with_its_time_left_and_stops_nothing(long slidingTicks)
    {
        await _scenario.CreateTableAsync();
        var keys = await _scenario.WriteRedisSessionsAsync(5, TimeSpan.FromMinutes(10));
        // Written by hand, or by another client: the application reads it; one such entry used to fail the whole backfill.
        await _scenario.Redis.HashSetAsync(_scenario.Prefix + keys[0], "sldexp", slidingTicks);

        var result = await new RedisToPostgresBackfill(_scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);

        Assert.Equal((5, 5), (result.Scanned, result.Copied));
        var remaining = (TimeSpan)(await _scenario.ScalarAsync("SELECT expire - now() FROM {table} WHERE sid = $1", keys[0]))!;
        Assert.InRange(remaining, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        var verdict = await new SessionStoreVerifier(_scenario.Options()).VerifyAsync(new VerificationOptions { Full = true }, Token);
        Assert.True(verdict.IsReadyForNextPhase, string.Join(", ", verdict.Mismatches));
    }

    [Fact]
    public async Task A_sliding_entry_whose_cap_means_never_is_verified_ready_after_its_copy()
    {
        await _scenario.CreateTableAsync();
        var keys = await _scenario.WriteRedisSessionsAsync(3, TimeSpan.FromMinutes(20));
        // RedisCache keeps the cap it was given; a write stores a century or more as none.
        foreach (var key in keys)
        {
            await _scenario.Redis.HashSetAsync(_scenario.Prefix + key, "absexp", DateTimeOffset.MaxValue.UtcTicks);
        }

        await new RedisToPostgresBackfill(_scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);
        var verdict = await new SessionStoreVerifier(_scenario.Options()).VerifyAsync(new VerificationOptions { Full = true }, Token);

        Assert.True(verdict.IsReadyForNextPhase, string.Join(", ", verdict.Mismatches));
    }

    [Fact]
    public async Task The_rate_limit_holds()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(60);
        var clock = Stopwatch.StartNew();

        var result = await new RedisToPostgresBackfill(_scenario.Options()).RunAsync(new BackfillOptions { RatePerSecond = 100 }, cancellationToken: Token);

        Assert.Equal(60, result.Copied);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_missing_table_is_reported_with_what_to_run()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new RedisToPostgresBackfill(_scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token));
        Assert.Contains("sessionstore migrate", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _scenario.Dispose();
}
