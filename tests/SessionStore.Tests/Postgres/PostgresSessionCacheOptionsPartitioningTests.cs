using SessionStore.Postgres;

namespace SessionStore.Tests.Postgres;

public sealed class PostgresSessionCacheOptionsPartitioningTests
{
    private static PostgresSessionCacheOptions Partitioned(Action<PostgresPartitioningOptions> change)
    {
        var options = new PostgresSessionCacheOptions { ConnectionString = "Host=localhost", Partitioning = new PostgresPartitioningOptions() };
        change(options.Partitioning);
        return options;
    }

    [Fact]
    public void The_partitioning_defaults_are_valid() => Assert.Empty(Partitioned(_ => { }).Validate());

    [Theory]
    [InlineData(0.5, "Partitioning.Interval is 00:00:00.5000000; it must be a whole number of seconds from 1 second to 1 day.")]
    [InlineData(1.5, "Partitioning.Interval is 00:00:01.5000000; it must be a whole number of seconds from 1 second to 1 day.")]
    [InlineData(90_000, "Partitioning.Interval is 1.01:00:00; it must be a whole number of seconds from 1 second to 1 day.")]
    public void An_interval_that_is_not_whole_seconds_up_to_a_day_is_refused(double seconds, string expected) =>
        Assert.Equal([expected], Partitioned(p => p.Interval = TimeSpan.FromSeconds(seconds)).Validate());

    [Theory]
    [InlineData(30)]
    [InlineData(3601 * 500)]
    public void A_horizon_shorter_than_one_interval_or_longer_than_500_is_refused(int seconds)
    {
        var failure = Assert.Single(Partitioned(p => (p.Interval, p.Horizon) = (TimeSpan.FromHours(1), TimeSpan.FromSeconds(seconds))).Validate());
        Assert.Contains("it must be from one Interval (01:00:00) to 500 of them (20.20:00:00)", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_partitioned_table_name_leaves_room_for_partition_names()
    {
        var options = Partitioned(_ => { });
        options.TableName = new string('t', 49);
        Assert.Equal([$"TableName '{options.TableName}' is 49 bytes of UTF-8; a partitioned table's name has at most 48."], options.Validate());
    }
}
