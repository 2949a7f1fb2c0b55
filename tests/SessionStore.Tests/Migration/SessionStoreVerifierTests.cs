using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.DualWrite;
using SessionStore.Migration;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Migration;

/// <summary>
/// <see cref="SessionStoreVerifier"/> on its own, on real servers: GO when the stores agree, NO-GO for each kind of
/// mismatch, the live-count tolerance, a sample against a full comparison, in both phases and both table formats.
/// </summary>
public sealed class SessionStoreVerifierTests(PostgresServer postgres, RedisServer redis)
{
    private static readonly DistributedCacheEntryOptions TwentyMinutes = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<PostgresPayloadFormat, string> FormatsAndPhases => new()
    {
        { PostgresPayloadFormat.Jsonb, "DualWriteRedisPrimary" },
        { PostgresPayloadFormat.Jsonb, "DualWritePostgresPrimary" },
        { PostgresPayloadFormat.Bytea, "DualWriteRedisPrimary" },
        { PostgresPayloadFormat.Bytea, "DualWritePostgresPrimary" },
    };

    [Theory]
    [MemberData(nameof(FormatsAndPhases))]
    public async Task Stores_that_agree_are_ready_for_the_next_phase(PostgresPayloadFormat format, string phase)
    {
        using var scenario = await BackfilledAsync(format, 50);

        var result = await new SessionStoreVerifier(scenario.Options(phase)).VerifyAsync(new VerificationOptions { Full = true }, Token);

        Assert.True(result.IsReadyForNextPhase);
        Assert.Equal(phase == "DualWritePostgresPrimary", result.PostgresIsPrimary);
        Assert.Equal((50L, 50L, 50L, 0L), (result.Compared, result.RedisLiveSessions, result.PostgresLiveSessions, result.CountGap));
        Assert.All(result.Mismatches.Values, count => Assert.Equal(0, count));
        Assert.Equal(Enum.GetValues<SessionMismatchKind>().Length, result.Mismatches.Count);
    }

    [Theory]
    [MemberData(nameof(FormatsAndPhases))]
    public async Task Each_kind_of_mismatch_is_counted_and_any_one_makes_it_not_ready(PostgresPayloadFormat format, string phase)
    {
        using var scenario = await BackfilledAsync(format, 30);
        var keys = (await scenario.PostgresKeysAsync()).Order(StringComparer.Ordinal).ToArray();
        var postgresIsPrimary = phase == "DualWritePostgresPrimary";

        // Missing from the secondary: 3. Another value: 4. Another lifetime (a 2-minute window, not 20): 5.
        foreach (var key in keys[..3])
        {
            if (postgresIsPrimary)
            {
                await scenario.Redis.KeyDeleteAsync(scenario.Prefix + key);
            }
            else
            {
                await scenario.Postgres.RemoveAsync(key, Token);
            }
        }

        foreach (var key in keys[3..7])
        {
            await scenario.Postgres.SetAsync(key, MigrationScenario.Session(1_000), TwentyMinutes, Token);
        }

        foreach (var key in keys[7..12])
        {
            var value = await scenario.Postgres.GetAsync(key, Token);
            await scenario.Postgres.SetAsync(key, value!, new() { SlidingExpiration = TimeSpan.FromMinutes(2) }, Token);
        }

        var result = await new SessionStoreVerifier(scenario.Options(phase)).VerifyAsync(new VerificationOptions { Full = true, CountTolerance = 0.5 }, Token);

        Assert.False(result.IsReadyForNextPhase);
        Assert.True(result.CountsAreClose);
        Assert.Equal(3, result.Mismatches[SessionMismatchKind.MissingInSecondary]);
        Assert.Equal(4, result.Mismatches[SessionMismatchKind.ValueDiffers]);
        Assert.Equal(5, result.Mismatches[SessionMismatchKind.ExpiryDiffers]);
        Assert.Equal(30, result.Compared); // every session of the primary, the 3 the secondary lacks included
        Assert.Equal(0, result.Unconfirmed);
    }

    [Theory]
    [MemberData(nameof(FormatsAndPhases))]
    public async Task A_row_recording_no_user_or_another_than_its_session_names_makes_it_not_ready(PostgresPayloadFormat format, string phase)
    {
        using var scenario = new MigrationScenario(postgres, redis, format);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(30, userOf: i => $"user{i}");
        await new RedisToPostgresBackfill(scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);
        var keys = (await scenario.PostgresKeysAsync()).Order(StringComparer.Ordinal).ToArray();

        // Recorded under another user: 3. Under none: 2. Both as a copy made with another key, or none, leaves them.
        foreach (var key in keys[..3])
        {
            await scenario.ScalarAsync("UPDATE {table} SET user_id = 'mallory' WHERE sid = $1", key);
        }

        foreach (var key in keys[3..5])
        {
            await scenario.ScalarAsync("UPDATE {table} SET user_id = NULL WHERE sid = $1", key);
        }

        var full = await new SessionStoreVerifier(scenario.Options(phase)).VerifyAsync(new VerificationOptions { Full = true }, Token);
        var sample = await new SessionStoreVerifier(scenario.Options(phase)).VerifyAsync(new VerificationOptions { SampleSize = 100 }, Token);
        var withoutKey = scenario.Options(phase);
        withoutKey.UserIdSessionKey = null;
        var notChecked = await new SessionStoreVerifier(withoutKey).VerifyAsync(new VerificationOptions { Full = true }, Token);

        Assert.Equal((5L, false), (full.UserIdDiffers, full.IsReadyForNextPhase));
        Assert.All(full.Mismatches.Values, count => Assert.Equal(0, count));
        Assert.Equal((5L, false), (sample.UserIdDiffers, sample.IsReadyForNextPhase));
        Assert.Equal((null, true), (notChecked.UserIdDiffers, notChecked.IsReadyForNextPhase));
    }

    [Theory]
    [InlineData("DualWriteRedisPrimary")]
    [InlineData("DualWritePostgresPrimary")]
    public async Task A_full_comparison_finds_sessions_the_secondary_holds_and_the_primary_lacks(string phase)
    {
        // Signed out (or evicted) in the primary without the secondary hearing of it: read-repair would serve them
        // again. Few enough to hide inside the count tolerance, so only a look at the secondary's keys finds them.
        using var scenario = await BackfilledAsync(PostgresPayloadFormat.Jsonb, 30);
        var postgresIsPrimary = phase == "DualWritePostgresPrimary";
        foreach (var key in (await scenario.PostgresKeysAsync()).Order(StringComparer.Ordinal).Take(3))
        {
            if (postgresIsPrimary)
            {
                await scenario.Postgres.RemoveAsync(key, Token);
            }
            else
            {
                await scenario.Redis.KeyDeleteAsync(scenario.Prefix + key);
            }
        }

        var full = await new SessionStoreVerifier(scenario.Options(phase)).VerifyAsync(new VerificationOptions { Full = true, CountTolerance = 0.5 }, Token);
        var sampled = await new SessionStoreVerifier(scenario.Options(phase)).VerifyAsync(new VerificationOptions { SampleSize = 100, CountTolerance = 0.5 }, Token);

        Assert.Equal(3, full.OnlyInSecondary);
        Assert.True(full.CountsAreClose);
        Assert.All(full.Mismatches.Values, count => Assert.Equal(0, count));
        Assert.False(full.IsReadyForNextPhase);
        Assert.Null(sampled.OnlyInSecondary);
    }

    [Theory]
    [InlineData("DualWriteRedisPrimary")]
    [InlineData("DualWritePostgresPrimary")]
    public async Task Sessions_written_while_it_runs_are_not_confirmed_as_mismatches(string phase)
    {
        // The go/no-go check on a live site: sessions written by concurrent requests, each write reaching both stores.
        // A write landing between its reads of the two stores, in both rounds, was counted as a confirmed mismatch.
        using var scenario = await BackfilledAsync(PostgresPayloadFormat.Jsonb, 8);
        var options = scenario.Options(phase);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = phase,
            ["SessionStore:Postgres:ConnectionString"] = options.Postgres.ConnectionString,
            ["SessionStore:Postgres:TableName"] = options.Postgres.TableName,
            ["SessionStore:Redis:Configuration"] = options.Redis.Configuration,
            ["SessionStore:Redis:InstanceName"] = options.Redis.InstanceName,
            ["SessionStore:UserIdSessionKey"] = "UserId",
            ["SessionStore:ComparisonSampleRate"] = "0",
        }).Build().GetSection("SessionStore");
        var services = new ServiceCollection();
        services.AddDualWriteSessionStore(configuration);
        await using var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<IDistributedCache>();
        var keys = (await scenario.PostgresKeysAsync()).ToArray();

        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await cache.SetAsync(keys[(writer + i) % keys.Length], MigrationScenario.Session(writer * 1_000_000 + i, "someone"), TwentyMinutes, Token);
            }
        }, Token)).ToList();
        var results = new List<VerificationResult>();
        for (var run = 0; run < 3; run++)
        {
            results.Add(await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { Full = true, CountTolerance = 1 }, Token));
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.All(results, r => Assert.Equal(0L, r.Mismatches.Values.Sum()));
        Assert.All(results, r => Assert.Equal(0L, r.UserIdDiffers));
        Assert.True(results.Sum(r => r.Compared) >= 3 * keys.Length - 3, "every run compared the sessions");
    }

    [Theory]
    [InlineData("DualWriteRedisPrimary")]
    [InlineData("DualWritePostgresPrimary")]
    public async Task An_empty_Redis_beside_PostgreSQL_sessions_is_never_ready_whatever_the_tolerance(string phase)
    {
        // One session: a 1 % tolerance rounded up allowed a gap of one, so a Redis restarted empty read as "ready".
        using var scenario = await BackfilledAsync(PostgresPayloadFormat.Jsonb, 1);
        await scenario.Redis.KeyDeleteAsync(scenario.Prefix + (await scenario.PostgresKeysAsync()).Single());

        var result = await new SessionStoreVerifier(scenario.Options(phase)).VerifyAsync(new VerificationOptions { Full = true, CountTolerance = 1 }, Token);

        Assert.Equal((0L, 1L, 1L), (result.RedisLiveSessions, result.PostgresLiveSessions, result.AllowedCountGap));
        Assert.False(result.CountsAreClose);
        Assert.False(result.IsReadyForNextPhase);
    }

    [Fact]
    public async Task Live_counts_further_apart_than_the_tolerance_are_not_ready_even_without_a_mismatch()
    {
        using var scenario = await BackfilledAsync(PostgresPayloadFormat.Jsonb, 100);
        await scenario.WriteRedisSessionsAsync(5); // only in Redis: PostgreSQL, the primary, never lists them
        var options = scenario.Options("DualWritePostgresPrimary");

        // Samples of the primary, so that only the counts judge (a full comparison also finds the 5 in Redis).
        var strict = await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { SampleSize = 100 }, Token);
        var lenient = await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { SampleSize = 100, CountTolerance = 0.05 }, Token);
        var exact = await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { SampleSize = 100, CountTolerance = 0 }, Token);

        Assert.Equal((105L, 100L, 5L), (strict.RedisLiveSessions, strict.PostgresLiveSessions, strict.CountGap));
        Assert.All(strict.Mismatches.Values, count => Assert.Equal(0, count));
        Assert.Equal((2L, false, false), (strict.AllowedCountGap, strict.CountsAreClose, strict.IsReadyForNextPhase)); // 1 % of 105, rounded up
        Assert.Equal((6L, true, true), (lenient.AllowedCountGap, lenient.CountsAreClose, lenient.IsReadyForNextPhase));
        Assert.Equal((0L, false), (exact.AllowedCountGap, exact.IsReadyForNextPhase));
    }

    [Theory]
    [InlineData("DualWriteRedisPrimary")]
    [InlineData("DualWritePostgresPrimary")]
    public async Task A_sample_compares_that_many_sessions_and_a_full_comparison_every_one(string phase)
    {
        using var scenario = await BackfilledAsync(PostgresPayloadFormat.Jsonb, 200);
        foreach (var key in (await scenario.PostgresKeysAsync()).Take(20))
        {
            await scenario.Postgres.SetAsync(key, MigrationScenario.Session(1_000), TwentyMinutes, Token);
        }

        var verifier = new SessionStoreVerifier(scenario.Options(phase));
        var sample = await verifier.VerifyAsync(new VerificationOptions { SampleSize = 100 }, Token);
        var full = await verifier.VerifyAsync(new VerificationOptions { Full = true, SampleSize = 5 }, Token);
        var countsOnly = await verifier.VerifyAsync(new VerificationOptions { SampleSize = 0 }, Token);

        Assert.Equal(100, sample.Compared);
        // 20 of 200 differ; a uniform sample of 100 misses all of them with a probability under one in a million.
        Assert.InRange(sample.Mismatches[SessionMismatchKind.ValueDiffers], 1, 20);
        Assert.False(sample.IsReadyForNextPhase);
        Assert.Equal((200L, 20L), (full.Compared, full.Mismatches[SessionMismatchKind.ValueDiffers]));
        Assert.Equal(0, countsOnly.Compared);
        Assert.True(countsOnly.IsReadyForNextPhase); // counts alone cannot see a value that differs
    }

    [Fact]
    public async Task A_full_comparison_scanning_Redis_compares_every_page_even_past_those_it_holds_at_once()
    {
        // 4,321 sessions: more than the 8 pages of 500 keys the SCAN hands out before it waits, and a part page.
        using var scenario = await BackfilledAsync(PostgresPayloadFormat.Jsonb, 4_321);
        var keys = (await scenario.PostgresKeysAsync()).ToArray();
        foreach (var key in keys.Where((_, i) => i % 500 == 7))
        {
            await scenario.Postgres.SetAsync(key, MigrationScenario.Session(1_000), TwentyMinutes, Token);
        }

        var result = await new SessionStoreVerifier(scenario.Options("DualWriteRedisPrimary")).VerifyAsync(new VerificationOptions { Full = true }, Token);

        Assert.Equal((4_321L, 4_321L, 9L), (result.Compared, result.RedisLiveSessions, result.Mismatches[SessionMismatchKind.ValueDiffers]));
        Assert.False(result.IsReadyForNextPhase);
    }

    [Theory]
    [InlineData(-1, 0.01, "SampleSize")]
    [InlineData(10, -0.1, "CountTolerance")]
    [InlineData(10, 1.5, "CountTolerance")]
    [InlineData(10, double.NaN, "CountTolerance")]
    public async Task Bad_options_are_refused_before_any_store_is_touched(int sampleSize, double tolerance, string option)
    {
        var options = new SessionStoreOptions();
        options.Postgres.ConnectionString = "Host=127.0.0.1;Port=1;Timeout=1";
        options.Redis.Configuration = "127.0.0.1:1,connectTimeout=100";

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { SampleSize = sampleSize, CountTolerance = tolerance }, Token));

        Assert.Equal(option, error.ParamName);
    }

    private async Task<MigrationScenario> BackfilledAsync(PostgresPayloadFormat format, int sessions)
    {
        var scenario = new MigrationScenario(postgres, redis, format);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(sessions);
        var backfill = await new RedisToPostgresBackfill(scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);
        Assert.Equal(sessions, backfill.Copied);
        return scenario;
    }
    /// <summary>
    /// Sessions created through the application all along a full run, in both stores: counted once the whole run
    /// was over, PostgreSQL took in growth Redis's SCAN never saw, and the verdict was NO-GO with nothing to copy.
    /// </summary>
    [Theory]
    [InlineData("DualWriteRedisPrimary")]
    [InlineData("DualWritePostgresPrimary")]
    public async Task A_full_run_under_growing_live_traffic_compares_counts_taken_over_the_same_time(string phase)
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(3000);
        await new RedisToPostgresBackfill(scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);
        var settings = scenario.Settings(phase);
        settings["SessionStore:ComparisonSampleRate"] = "0";
        var services = new ServiceCollection();
        services.AddDualWriteSessionStore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("SessionStore"));
        await using var provider = services.BuildServiceProvider();
        var application = provider.GetRequiredService<IDistributedCache>();
        using var stop = new CancellationTokenSource();
        var created = 0;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await application.SetAsync(Guid.NewGuid().ToString(), MigrationScenario.Session(created++), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
            }
        }, Token);
        await Task.Delay(TimeSpan.FromMilliseconds(300), Token);

        var result = await new SessionStoreVerifier(scenario.Options(phase)).VerifyAsync(new VerificationOptions { Full = true }, Token);
        var createdDuringRun = created;
        await stop.CancelAsync();
        await writer;

        Assert.True(createdDuringRun > 2 * result.AllowedCountGap, $"only {createdDuringRun} sessions created: the run did not grow the stores");
        Assert.True(result.CountsAreClose, $"Redis {result.RedisLiveSessions}, PostgreSQL {result.PostgresLiveSessions}, allowed gap {result.AllowedCountGap}");
        Assert.True(result.IsReadyForNextPhase);
    }
}

