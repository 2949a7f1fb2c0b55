using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// Every dual-write setting read live, set to each invalid value by a reload while requests run: no request fails,
/// the error names the key, the last valid value stays in force, and a fixed value is taken up again.
/// </summary>
public sealed class LiveTuningReloadTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // A valid value for each key, set to fix the configuration again (the documented defaults).
    private static readonly Dictionary<string, string> ValidValues = new()
    {
        ["SecondaryTimeout"] = "00:00:02",
        ["HealthCheckTimeout"] = "00:00:05",
        ["ComparisonSampleRate"] = "0",
        ["ExpiryTolerance"] = "00:05:00",
        ["BreakerFailureRatio"] = "0.5",
        ["BreakerMinimumThroughput"] = "5",
        ["BreakerSamplingDuration"] = "00:00:01",
        ["BreakDuration"] = "00:00:02",
        ["CatchUpCapacity"] = "100000",
        ["SecondaryFailureLogLevel"] = "Warning",
    };

    public static TheoryData<string, string> InvalidValues => new()
    {
        { "SecondaryTimeout", "-00:00:01" },
        { "SecondaryTimeout", "00:00:00" },
        { "SecondaryTimeout", "01:00:00" },
        { "HealthCheckTimeout", "00:00:00" },
        { "ComparisonSampleRate", "-0.5" },
        { "ComparisonSampleRate", "3" },
        { "ComparisonSampleRate", "NaN" },
        { "ExpiryTolerance", "-00:05:00" },
        { "BreakerFailureRatio", "0" },
        { "BreakerFailureRatio", "1.5" },
        { "BreakerMinimumThroughput", "1" },
        { "BreakerSamplingDuration", "00:00:00.100" },
        { "BreakDuration", "00:00:00" },
        { "CatchUpCapacity", "-1" },
        { "SecondaryFailureLogLevel", "7" },

        // Values the configuration binder cannot convert at all.
        { "SecondaryTimeout", "2s" },
        { "BreakerMinimumThroughput", "five" },
        { "ComparisonSampleRate", "half" },
    };

    [Theory]
    [MemberData(nameof(InvalidValues))]
    public async Task An_invalid_live_value_is_logged_with_its_key_and_requests_keep_working(string key, string invalid)
    {
        await using var harness = new DualWriteHarness("DualWriteRedisPrimary", postgres.ConnectionString, redis.Configuration);
        await harness.StartAsync();
        var cache = harness.Cache;

        // Both stores built and the table created before the reloads: on a loaded machine that alone outlasted the
        // 300 ms the invalid value is in force, and no request read the options meanwhile.
        await cache.SetAsync("warm-up", [1], DualWriteHarness.IdleTimeout, Token);
        var failures = 0;
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var session = $"live-{Guid.NewGuid()}";
                    await cache.SetAsync(session, [1, 2, (byte)i], DualWriteHarness.IdleTimeout, CancellationToken.None);
                    Assert.NotNull(await cache.GetAsync(session, CancellationToken.None));
                    await cache.RefreshAsync(session, CancellationToken.None);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }, CancellationToken.None);

        await Task.Delay(100, Token);
        Reload(harness, key, invalid);
        await Task.Delay(300, Token);
        Reload(harness, key, ValidValues[key]);
        await Task.Delay(100, Token);
        await stop.CancelAsync();
        await traffic;

        Assert.Equal(0, failures);

        // Logged once, by the cache's options monitor; when the section could not be bound at all the cleanup's
        // monitor refuses its settings too, but leaves the log to the cache's.
        var refused = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.OptionsReloadRefused);
        Assert.Equal(LogLevel.Error, refused.Level);
        Assert.Contains($"SessionStore:{key}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("last valid", refused.Message, StringComparison.Ordinal);
        Assert.Equal(ValidValues[key], harness.Configuration[$"SessionStore:{key}"]);
        Assert.Empty(harness.Cache.Settings.TuningFailures());
    }

    private static void Reload(DualWriteHarness harness, string key, string value)
    {
        harness.Configuration[$"SessionStore:{key}"] = value;
        ((IConfigurationRoot)harness.Configuration).Reload();
    }
}
