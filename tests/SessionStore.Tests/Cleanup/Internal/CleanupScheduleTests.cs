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

    [Theory]
    [InlineData(-5.0, 1.0)]
    [InlineData(0.0, 1.0)]
    [InlineData(0.2, 1.0)]
    [InlineData(30.0, 30.0)]
    [InlineData(400_000.0, 172_800.0)]
    public void No_wait_is_shorter_than_a_second_so_no_setting_can_make_the_loop_spin(double seconds, double expected) =>
        Assert.Equal(expected, CleanupSchedule.Bounded(TimeSpan.FromSeconds(seconds)).TotalSeconds, precision: 6);

    [Theory]
    [InlineData(60, 2, 120)]
    [InlineData(60, 3, 240)]
    [InlineData(60, 10, 3600)]
    [InlineData(86_400, 5, 86_400)]
    [InlineData(1, 1_000, 3600)]
    public void After_failed_runs_the_wait_doubles_up_to_an_hour_or_the_interval(double intervalSeconds, int failures, double expected)
    {
        var interval = TimeSpan.FromSeconds(intervalSeconds);
        Assert.Equal(expected, CleanupSchedule.BackOff(interval, interval, failures).TotalSeconds, precision: 6);
    }
}
