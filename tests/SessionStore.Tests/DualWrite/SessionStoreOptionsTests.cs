namespace SessionStore.Tests.DualWrite;

public sealed class SessionStoreOptionsTests
{
    [Theory]
    [InlineData(nameof(SessionStoreOptions.BreakDuration), "BreakDuration is 00:00:00.1000000; it must be between 00:00:00.500 and 00:05:00")]
    [InlineData(nameof(SessionStoreOptions.BreakerSamplingDuration), "BreakerSamplingDuration is 00:00:00.1000000; it must be between 00:00:00.500 and 00:01:00")]
    [InlineData(nameof(SessionStoreOptions.BreakerFailureRatio), "BreakerFailureRatio is 0; it must be more than 0 and at most 1")]
    [InlineData(nameof(SessionStoreOptions.BreakerMinimumThroughput), "BreakerMinimumThroughput is 1; it must be at least 2")]
    [InlineData(nameof(SessionStoreOptions.CatchUpCapacity), "CatchUpCapacity is -1; it must be between 0 and 10000000")]
    [InlineData(nameof(SessionStoreOptions.HealthCheckTimeout), "HealthCheckTimeout is 00:00:00")]
    public void Each_resilience_setting_out_of_range_is_reported_with_its_key_and_range(string setting, string expected)
    {
        var options = new SessionStoreOptions { Phase = SessionStorePhase.RedisOnly };
        options.Redis.Configuration = "localhost";
        Assert.Empty(options.Validate());

        _ = setting switch
        {
            nameof(SessionStoreOptions.BreakDuration) => options.BreakDuration = TimeSpan.FromMilliseconds(100),
            nameof(SessionStoreOptions.BreakerSamplingDuration) => options.BreakerSamplingDuration = TimeSpan.FromMilliseconds(100),
            nameof(SessionStoreOptions.HealthCheckTimeout) => options.HealthCheckTimeout = TimeSpan.Zero,
            _ => TimeSpan.Zero,
        };
        options.BreakerFailureRatio = setting == nameof(SessionStoreOptions.BreakerFailureRatio) ? 0 : options.BreakerFailureRatio;
        options.BreakerMinimumThroughput = setting == nameof(SessionStoreOptions.BreakerMinimumThroughput) ? 1 : options.BreakerMinimumThroughput;
        options.CatchUpCapacity = setting == nameof(SessionStoreOptions.CatchUpCapacity) ? -1 : options.CatchUpCapacity;

        var failure = Assert.Single(options.Validate());
        Assert.StartsWith($"SessionStore:{setting}", failure, StringComparison.Ordinal);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_phase_number_set_in_code_that_names_no_phase_is_reported_with_the_number()
    {
        var options = new SessionStoreOptions { Phase = (SessionStorePhase)7 };

        var failure = Assert.Single(options.Validate());
        Assert.Contains("SessionStore:Phase is '7', which names no phase", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_log_level_that_names_none_is_reported_with_its_key()
    {
        var options = new SessionStoreOptions { Phase = SessionStorePhase.RedisOnly, SecondaryFailureLogLevel = (Microsoft.Extensions.Logging.LogLevel)7 };
        options.Redis.Configuration = "localhost";

        var failure = Assert.Single(options.Validate());
        Assert.StartsWith("SessionStore:SecondaryFailureLogLevel is 7; allowed: Trace,", failure, StringComparison.Ordinal);
    }
}
