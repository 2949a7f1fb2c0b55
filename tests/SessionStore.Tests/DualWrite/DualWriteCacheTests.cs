using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SessionStore.DualWrite;
using SessionStore.Internal;
using SessionStore.Tests.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

public sealed class DualWriteCacheTests(PostgresServer postgres, RedisServer redis)
{
    private const string Unreachable = "127.0.0.1:1,abortConnect=false,connectTimeout=200,syncTimeout=500,asyncTimeout=500";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string NewKey() => Guid.NewGuid().ToString();

    [Theory]
    [InlineData("redis-only", false, true)]
    [InlineData("dual-redis-primary", true, true)]
    [InlineData("dual-pg-primary", true, true)]
    [InlineData("pg-only", true, false)]
    public async Task Writes_and_removes_go_to_every_store_of_the_phase(string phase, bool inPostgres, bool inRedis)
    {
        await using var harness = Harness(phase);
        var key = NewKey();

        await harness.Cache.SetAsync(key, [1, 2], DualWriteHarness.IdleTimeout, Token);

        Assert.Equal(inPostgres, await harness.Postgres.GetAsync(key, Token) is not null);
        Assert.Equal(inRedis, await harness.Redis.GetAsync(key, Token) is not null);
        Assert.Equal([1, 2], await harness.Cache.GetAsync(key, Token));

        await harness.Cache.RemoveAsync(key, Token);
        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Redis.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_primary_miss_found_in_the_secondary_is_copied_with_its_lifetime()
    {
        await using var harness = Harness("dual-pg-primary");
        var key = NewKey();
        await harness.Redis.SetAsync(key, [9], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);

        Assert.Equal([9], await harness.Cache.GetAsync(key, Token));

        var copy = await ((ISessionCacheProvider)harness.Postgres).GetEntryAsync(key, async: true, Token);
        Assert.Equal([9], copy!.Value);
        Assert.Equal(TimeSpan.FromMinutes(20), copy.Expiry.Sliding);
        Assert.Equal(1, harness.Cache.GetStatistics().ReadRepairs);
    }

    [Fact]
    public async Task A_failing_secondary_is_logged_at_its_level_and_counted_but_never_thrown()
    {
        await using var harness = new DualWriteHarness("dual-pg-primary", postgres.ConnectionString, Unreachable, s =>
        {
            s["SessionStore:SecondaryFailureLogLevel"] = "Information";
            s["SessionStore:SecondaryTimeout"] = "00:00:00.300";
        });
        var key = NewKey();

        // The refresh comes before the read: right after a read that found no touch due, it would reach no store.
        await harness.Cache.SetAsync(key, [3], DualWriteHarness.IdleTimeout, Token);
        await harness.Cache.RefreshAsync(key, Token);
        Assert.Equal([3], await harness.Cache.GetAsync(key, Token));
        await harness.Cache.RemoveAsync(key, Token);

        // Each failure is counted; a key whose secondary call just timed out is not sent again at once, so not every
        // failure reaches the server or the log.
        Assert.Equal(3, harness.Cache.GetStatistics().SecondaryFailures);
        var failures = harness.Logs.GetSnapshot().Where(r => r.Id.Id == SessionStoreEventIds.DualWriteSecondaryFailed).ToList();
        Assert.InRange(failures.Count, 1, 3);
        Assert.All(failures, r => Assert.Equal(LogLevel.Information, r.Level));
        Assert.All(failures, r => Assert.DoesNotContain(key, r.Message, StringComparison.Ordinal));
        Assert.All(failures, r => Assert.Contains(KeyHash.Of(key), r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_slow_or_throwing_mismatch_callback_holds_up_no_request_to_the_session()
    {
        // Before, the comparison ran the callback in the session's turn: a sign-out waited for it, then timed out blaming Redis.
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        await using var harness = Harness("dual-pg-primary", s =>
        {
            s["SessionStore:ComparisonSampleRate"] = "1";
            s["SessionStore:SecondaryTimeout"] = "00:00:00.500";
        });
        harness.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.OnMismatch = _ =>
        {
            entered.Set();
            release.Wait(Token);
            throw new InvalidOperationException("the application's callback failed");
        };
        var key = NewKey();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        await harness.Redis.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token); // the secondary differs
        await harness.Cache.GetAsync(key, Token);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(entered.IsSet), "the mismatch reached the callback");

        try
        {
            await harness.Cache.RemoveAsync(key, Token); // signs out while the callback still runs
            Assert.Null(await harness.Postgres.GetAsync(key, Token));
            Assert.Null(await harness.Redis.GetAsync(key, Token));
        }
        finally
        {
            release.Set();
        }

        await DualWriteHarness.EventuallyAsync(
            () => Task.FromResult(harness.Logs.GetSnapshot().Any(r => r.Id.Id == SessionStoreEventIds.DualWriteMismatchCallbackFailed && r.Level == LogLevel.Warning)),
            "the callback's failure is logged as its own");
    }

    [Fact]
    public async Task Sampled_comparisons_report_differences_by_kind_with_a_hashed_key_and_repair_the_secondary()
    {
        var reported = new List<SessionMismatch>();
        await using var harness = Harness("dual-redis-primary", s => s["SessionStore:ComparisonSampleRate"] = "1");
        harness.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.OnMismatch = m => { lock (reported) { reported.Add(m); } };
        var id = Guid.NewGuid().ToByteArray();
        var key = NewKey();
        await harness.Cache.SetAsync(key, new TestSessionPayload(id, [new("a", [1]), new("b", [2])]).ToBytes(), DualWriteHarness.IdleTimeout, Token);

        await harness.Postgres.SetAsync(key, new TestSessionPayload(id, [new("a", [1]), new("b", [3])]).ToBytes(), DualWriteHarness.IdleTimeout, Token);
        await harness.Cache.GetAsync(key, Token);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(Reported(SessionMismatchKind.ValueDiffers)), "the changed value is reported");
        await DualWriteHarness.EventuallyAsync(async () =>
        {
            var secondary = await harness.Postgres.GetAsync(key, Token);
            var primary = await harness.Redis.GetAsync(key, Token);
            return Convert.ToHexString(secondary!) == Convert.ToHexString(primary!);
        }, "the secondary holds the primary's value");

        await harness.Postgres.RemoveAsync(key, Token);
        await harness.Cache.GetAsync(key, Token);
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(Reported(SessionMismatchKind.MissingInSecondary)), "the missing copy is reported");
        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is not null, "the missing copy is written");

        var mismatch = reported[0];
        Assert.Equal(SessionStorePhase.DualWriteRedisPrimary, mismatch.Phase);
        Assert.Equal(KeyHash.Of(key), mismatch.KeyHash);
        var statistics = harness.Cache.GetStatistics();
        Assert.Equal(1, statistics.Mismatches[SessionMismatchKind.ValueDiffers]);
        // Both sampled reads ended with a verdict, a mismatch each; nothing was written while they ran.
        Assert.Equal(2, statistics.Comparisons);
        Assert.Equal(0, statistics.ComparisonsInFlux);

        bool Reported(SessionMismatchKind kind)
        {
            lock (reported)
            {
                return reported.Any(m => m.Kind == kind);
            }
        }
    }

    [Fact]
    public async Task Equal_copies_are_not_reported()
    {
        var reported = 0;
        await using var harness = Harness("dual-pg-primary", s => s["SessionStore:ComparisonSampleRate"] = "1");
        harness.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.OnMismatch = _ => Interlocked.Increment(ref reported);
        using var comparisons = new MetricCollector<long>(harness.Services.GetRequiredService<IMeterFactory>(), SessionStoreMetrics.MeterName, SessionStoreMetrics.Comparisons);
        var key = NewKey();
        await harness.Cache.SetAsync(key, new TestSessionPayload(new byte[16], [new("a", [1]), new("b", "two"u8.ToArray())]).ToBytes(), DualWriteHarness.IdleTimeout, Token);

        for (var i = 0; i < 20; i++)
        {
            await harness.Cache.GetAsync(key, Token);
        }

        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().PendingComparisons == 0), "every comparison has ended");
        Assert.Equal(0, reported);
        // Each sampled read was compared to a verdict (a read that timed out on a loaded machine is not).
        var statistics = harness.Cache.GetStatistics();
        Assert.InRange(statistics.Comparisons, 1, 20);
        Assert.Equal(0, statistics.ComparisonsInFlux);
        var published = comparisons.GetMeasurementSnapshot();
        Assert.Equal(statistics.Comparisons, published.Count);
        Assert.All(published, m => Assert.Equal("equal", m.Tags["sessionstore.comparison.outcome"]));
    }

    [Theory]
    [InlineData("dual-redis-primary")]
    [InlineData("dual-pg-primary")]
    public async Task Sessions_written_by_concurrent_requests_are_not_reported_as_mismatches(string phase)
    {
        // Every write reaches both stores, so nothing differs for long; but a write landing between the comparison's
        // two reads of a store, in both of its rounds, looked like a confirmed difference (1 or 2 per demo run).
        var reported = 0;
        // The default SecondaryTimeout (2 s): a secondary write that timed out on a loaded machine would be a real
        // difference until the catch-up copies it, which a comparison may rightly report.
        await using var harness = Harness(phase, s => s["SessionStore:ComparisonSampleRate"] = "1");
        harness.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.OnMismatch = _ => Interlocked.Increment(ref reported);
        var keys = Enumerable.Range(0, 4).Select(_ => NewKey()).ToArray();
        var id = Guid.NewGuid().ToByteArray();
        foreach (var key in keys)
        {
            await harness.Cache.SetAsync(key, new TestSessionPayload(id, [new("n", [0])]).ToBytes(), DualWriteHarness.IdleTimeout, Token);
        }

        // 8 callers write until comparisons have met their writes: a fixed number of requests, done before the first
        // comparison began on a loaded machine, once tested nothing. Those left to the writes are counted (in flux),
        // so that count says when enough have; 30 s without it fails the test.
        const int EnoughInFlux = 20;
        using var enough = CancellationTokenSource.CreateLinkedTokenSource(Token);
        enough.CancelAfter(TimeSpan.FromSeconds(30));
        var watcher = Task.Run(async () =>
        {
            while (!enough.IsCancellationRequested && harness.Cache.GetStatistics().ComparisonsInFlux < EnoughInFlux)
            {
                await Task.Delay(50, CancellationToken.None);
            }

            await enough.CancelAsync();
        }, Token);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; !enough.IsCancellationRequested; i++)
            {
                var key = keys[(caller + i) % keys.Length];
                await harness.Cache.GetAsync(key, Token);
                await harness.Cache.SetAsync(key, new TestSessionPayload(id, [new("n", BitConverter.GetBytes(caller * 1_000_000 + i))]).ToBytes(), DualWriteHarness.IdleTimeout, Token);
            }
        }, Token)));
        await watcher;
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().PendingComparisons == 0), "every comparison has ended");

        var statistics = harness.Cache.GetStatistics();
        Assert.True(statistics.ComparisonsInFlux >= EnoughInFlux, $"{statistics.ComparisonsInFlux} comparisons in flux in 30 s, {statistics.Comparisons} with a verdict");
        Assert.Equal(0, reported);
        foreach (var key in keys)
        {
            // And nothing differed for good: the last write of each session is the same in both stores.
            await DualWriteHarness.EventuallyAsync(
                async () => Convert.ToHexString((await harness.Redis.GetAsync(key, Token))!) == Convert.ToHexString((await harness.Postgres.GetAsync(key, Token))!),
                "both stores hold the session's last write");
        }
    }

    [Fact]
    public async Task The_phase_follows_configuration_live_and_a_bad_value_is_logged_and_ignored()
    {
        await using var harness = Harness("redis-only");
        await harness.StartAsync();
        Assert.Equal(SessionStorePhase.RedisOnly, harness.Cache.Phase);

        harness.Phase = "dual-redis-primary";
        Assert.Equal(SessionStorePhase.DualWriteRedisPrimary, harness.Cache.Phase);
        harness.Phase = "dual-pg-primary";
        Assert.Equal(SessionStorePhase.DualWritePostgresPrimary, harness.Cache.Phase);

        // Saved once, reloaded twice (as a file watcher often does): logged once.
        harness.Phase = "dual-pg-primry";
        Assert.Equal(SessionStorePhase.DualWritePostgresPrimary, harness.Cache.Phase);
        harness.Phase = "dual-pg-primry";
        Assert.Equal(SessionStorePhase.DualWritePostgresPrimary, harness.Cache.Phase);
        var refusal = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.DualWritePhaseRefused);
        Assert.Equal(LogLevel.Error, refusal.Level);
        Assert.Contains("PostgresOnly (pg-only)", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("'dual-pg-primry'", refusal.Message, StringComparison.Ordinal);

        harness.Phase = "PostgresOnly";
        Assert.Equal(SessionStorePhase.PostgresOnly, harness.Cache.Phase);
    }

    [Fact]
    public async Task Start_up_stops_on_a_phase_that_names_none_listing_the_valid_ones()
    {
        await using var harness = Harness("dual-pg-primry");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(harness.StartAsync);

        Assert.Contains("SessionStore:Phase is 'dual-pg-primry'", error.Message, StringComparison.Ordinal);
        Assert.Contains("DualWritePostgresPrimary (dual-pg-primary)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_up_stops_when_a_store_the_phase_needs_is_not_configured_naming_its_key()
    {
        await using var harness = Harness("dual-redis-primary", s => s["SessionStore:Postgres:ConnectionString"] = null);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(harness.StartAsync);

        Assert.Contains("SessionStore:Postgres:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> OutOfRangeStartUpSettings => new()
    {
        { "BreakDuration", "00:00:00.100" },
        { "BreakDuration", "2.00:00:00" },
        { "BreakerSamplingDuration", "00:00:00.100" },
        { "BreakerMinimumThroughput", "1" },
        { "BreakerFailureRatio", "NaN" },
        { "CatchUpCapacity", "-1" },
    };

    [Theory]
    [MemberData(nameof(OutOfRangeStartUpSettings))]
    public async Task Start_up_stops_on_an_out_of_range_breaker_setting_naming_its_key_and_value(string key, string value)
    {
        // The breakers are built with the cache, which the cleanup's hosted service asks for before the start-up
        // validation runs: the error must still be the validation's, not the circuit breaker library's.
        await using var harness = Harness("dual-redis-primary", s => s[$"SessionStore:{key}"] = value);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(harness.StartAsync);

        Assert.Contains($"SessionStore:{key} is ", error.Message, StringComparison.Ordinal);
        Assert.Contains("must be", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_phase_switch_in_an_edit_that_breaks_another_setting_is_refused_with_the_rest_of_the_edit()
    {
        await using var harness = Harness("redis-only");
        await harness.StartAsync();

        harness.Configuration["SessionStore:SecondaryTimeout"] = "-00:00:01";
        harness.Phase = "dual-redis-primary";

        Assert.Equal(SessionStorePhase.RedisOnly, harness.Cache.Phase);
        var refusal = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.DualWritePhaseRefused);
        Assert.Contains("SessionStore:SecondaryTimeout is -00:00:01", refusal.Message, StringComparison.Ordinal);

        harness.Configuration["SessionStore:SecondaryTimeout"] = "00:00:02";
        harness.Phase = "dual-redis-primary";

        Assert.Equal(SessionStorePhase.DualWriteRedisPrimary, harness.Cache.Phase);
    }

    [Fact]
    public async Task Reads_fail_over_to_the_secondary_when_asked_to()
    {
        var broken = "Host=127.0.0.1;Port=1;Timeout=1";
        await using var failover = new DualWriteHarness("dual-pg-primary", broken, redis.Configuration, s => s["SessionStore:FailoverReadsToSecondary"] = "true");
        await using var strict = new DualWriteHarness("dual-pg-primary", broken, redis.Configuration);
        var key = NewKey();
        await failover.Redis.SetAsync(key, [5], DualWriteHarness.IdleTimeout, Token);
        await strict.Redis.SetAsync(key, [5], DualWriteHarness.IdleTimeout, Token);

        Assert.Equal([5], await failover.Cache.GetAsync(key, Token));
        Assert.Equal(1, failover.Cache.GetStatistics().PrimaryReadFailovers);
        await Assert.ThrowsAnyAsync<Npgsql.NpgsqlException>(() => strict.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task Logging_a_user_out_everywhere_reaches_both_stores()
    {
        await using var harness = Harness("dual-pg-primary");
        var key = NewKey();
        await harness.Cache.SetAsync(key, new TestSessionPayload(new byte[16], [new("UserId", "ada"u8.ToArray())]).ToBytes(), DualWriteHarness.IdleTimeout, Token);

        Assert.Equal(1, await harness.Cache.RevokeUserSessionsAsync("ada", Token));

        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Redis.GetAsync(key, Token));
    }

    [Fact]
    public async Task Logging_a_user_out_in_a_single_store_phase_also_clears_the_other_configured_store()
    {
        // Otherwise a rollback would read-repair the revoked session back and sign the user in again.
        await using var harness = Harness("dual-pg-primary");
        var key = NewKey();
        await harness.Cache.SetAsync(key, new TestSessionPayload(new byte[16], [new("UserId", "ada"u8.ToArray())]).ToBytes(), DualWriteHarness.IdleTimeout, Token);
        harness.Phase = "pg-only";

        Assert.Equal(1, await harness.Cache.RevokeUserSessionsAsync("ada", Token));

        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Redis.GetAsync(key, Token));
    }

    [Fact]
    public async Task Health_is_degraded_without_the_secondary_and_unhealthy_without_the_primary()
    {
        await using var healthy = Harness("dual-pg-primary");
        await using var degraded = new DualWriteHarness("dual-pg-primary", postgres.ConnectionString, Unreachable);
        await using var unhealthy = new DualWriteHarness("dual-redis-primary", postgres.ConnectionString, Unreachable);

        Assert.Equal(HealthStatus.Healthy, await StatusAsync(healthy));
        Assert.Equal(HealthStatus.Degraded, await StatusAsync(degraded));
        Assert.Equal(HealthStatus.Unhealthy, await StatusAsync(unhealthy));

        static async Task<HealthStatus> StatusAsync(DualWriteHarness harness) =>
            (await harness.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token)).Status;
    }

    [Fact]
    public async Task Operation_durations_are_published_per_store_and_operation_without_keys()
    {
        await using var harness = Harness("dual-pg-primary");
        using var durations = new MetricCollector<double>(harness.Services.GetRequiredService<IMeterFactory>(), SessionStoreMetrics.MeterName, SessionStoreMetrics.OperationDuration);
        var key = NewKey();

        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        await harness.Cache.GetAsync(key, Token);

        var measurements = durations.GetMeasurementSnapshot();
        Assert.Contains(measurements, m => m.Tags["db.system.name"] is "postgresql" && m.Tags["db.operation.name"] is "get");
        Assert.Contains(measurements, m => m.Tags["db.system.name"] is "redis" && m.Tags["db.operation.name"] is "set");
        Assert.All(measurements, m => Assert.DoesNotContain(m.Tags.Values, v => v is string s && s.Contains(key, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Expired_rows_are_cleaned_in_phases_that_write_postgres_and_left_alone_otherwise()
    {
        await using var harness = Harness("redis-only", s => s["SessionStore:Cleanup:Interval"] = "00:00:01");
        var key = NewKey();
        await harness.Postgres.SetAsync(key, [1], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMilliseconds(50) }, Token);
        await harness.StartAsync();

        await Task.Delay(TimeSpan.FromSeconds(2.5), Token);
        Assert.Equal(1L, await CountRowsAsync());

        harness.Phase = "dual-redis-primary";
        await DualWriteHarness.EventuallyAsync(async () => await CountRowsAsync() == 0, "the expired row is deleted");

        async Task<long> CountRowsAsync()
        {
            var table = harness.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.Postgres.TableName;
            await using var command = postgres.DataSource.CreateCommand($"SELECT count(*) FROM \"public\".\"{table}\"");
            return (long)(await command.ExecuteScalarAsync(Token))!;
        }
    }

    private DualWriteHarness Harness(string phase, Action<IDictionary<string, string?>>? configure = null) =>
        new(phase, postgres.ConnectionString, redis.Configuration, configure);
}
