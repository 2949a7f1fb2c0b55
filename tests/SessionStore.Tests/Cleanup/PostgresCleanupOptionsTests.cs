using SessionStore.Cleanup;

namespace SessionStore.Tests.Cleanup;

public sealed class PostgresCleanupOptionsTests
{
    [Fact]
    public void The_defaults_are_valid() => Assert.Empty(new PostgresCleanupOptions().Validate());

    public static TheoryData<Action<PostgresCleanupOptions>, string> InvalidSettings => new()
    {
        { o => o.Interval = TimeSpan.FromMilliseconds(500), "Interval is 00:00:00.5000000; it must be between 00:00:01 and 1.00:00:00." },
        { o => o.Interval = TimeSpan.FromDays(2), "Interval is 2.00:00:00; it must be between 00:00:01 and 1.00:00:00." },
        { o => o.Jitter = 0.6, "Jitter is 0.6; it must be between 0 and 0.5." },
        { o => o.Jitter = double.NaN, "Jitter is NaN; it must be between 0 and 0.5." },
        { o => o.BatchSize = 0, "BatchSize is 0; it must be between 1 and 100000." },
        { o => o.BatchSize = 100_001, "BatchSize is 100001; it must be between 1 and 100000." },
        { o => o.MaximumRunTime = TimeSpan.Zero, "MaximumRunTime is 00:00:00; it must be between 00:00:01 and 01:00:00." },
        { o => o.PauseBetweenBatches = TimeSpan.FromSeconds(-1), "PauseBetweenBatches is -00:00:01; it must be between 00:00:00 and 00:01:00." },
        { o => o.StatementTimeout = TimeSpan.FromMilliseconds(50), "StatementTimeout is 00:00:00.0500000; it must be between 00:00:00.1000000 and 00:10:00." },
        { o => o.LockTimeout = TimeSpan.FromMinutes(2), "LockTimeout is 00:02:00; it must be between 00:00:00.0010000 and 00:01:00." },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void Each_invalid_setting_is_named_with_its_value_and_what_is_allowed(Action<PostgresCleanupOptions> change, string expected)
    {
        var options = new PostgresCleanupOptions();
        change(options);
        Assert.Equal([expected], options.Validate());
    }

    [Fact]
    public void Every_invalid_setting_is_reported_at_once()
    {
        var options = new PostgresCleanupOptions { BatchSize = -1, Jitter = 2, Interval = TimeSpan.Zero };
        Assert.Equal(3, options.Validate().Count);
    }
}
