using SessionStore.Cleanup.Internal;

namespace SessionStore.Tests.Cleanup.Internal;

public sealed class CleanupScheduleTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.5, 300)]
    [InlineData(0.999, 599.4)]
    public void The_first_run_comes_within_one_interval(double unit, double expectedSeconds) =>
        Assert.Equal(expectedSeconds, CleanupSchedule.FirstDelay(Interval, unit).TotalSeconds, precision: 6);

    [Theory]
    [InlineData(0.2, 0.0, 480)]
    [InlineData(0.2, 0.5, 600)]
    [InlineData(0.2, 0.75, 660)]
    [InlineData(0.5, 0.0, 300)]
    [InlineData(0.0, 0.9, 600)]
    public void Later_waits_vary_by_the_jitter_fraction_around_the_interval(double jitter, double unit, double expectedSeconds) =>
        Assert.Equal(expectedSeconds, CleanupSchedule.NextDelay(Interval, jitter, unit).TotalSeconds, precision: 6);

    [Fact]
    public void Over_many_runs_the_waits_stay_in_bounds_and_average_one_interval()
    {
        var random = new Random(7);
        var waits = Enumerable.Range(0, 100_000).Select(_ => CleanupSchedule.NextDelay(Interval, 0.2, random.NextDouble()).TotalSeconds).ToArray();

        Assert.InRange(waits.Min(), 480, 481);
        Assert.InRange(waits.Max(), 719, 720);
        Assert.InRange(waits.Average(), 599, 601);
    }
}
