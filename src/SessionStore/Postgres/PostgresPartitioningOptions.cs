using System.Globalization;

namespace SessionStore.Postgres;

/// <summary>
/// Opt-in layout of the session table partitioned by expiry, so that cleanup drops whole partitions instead of
/// deleting rows. See docs/cleanup.md for when it pays off and how keys stay unique across partitions.
/// </summary>
public sealed class PostgresPartitioningOptions
{
    /// <summary>
    /// The longest table name a partitioned table accepts: partition names add an underscore and a 14-digit
    /// timestamp, and must fit PostgreSQL's 63 bytes.
    /// </summary>
    public const int MaximumTableNameBytes = 48;

    /// <summary>
    /// The width of one partition's expiry range (a bucket). Fixed when the table is created: the width stored in
    /// the table wins over a later change here. Narrower buckets free space sooner after expiry but make more
    /// partitions for every read to probe, and move an active session to the next partition more often (once per
    /// bucket width).
    /// </summary>
    /// <value>Default 1 hour. Whole seconds, from 1 second to 1 day.</value>
    /// <remarks>Start-up only: read when the cache and the migrator are built.</remarks>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How far ahead of now partitions are created. An entry expiring later than that (or never) is kept in the
    /// one partition that is never dropped and is deleted row by row instead; make it longer than your session
    /// idle timeout.
    /// </summary>
    /// <value>Default 4 hours. At least <see cref="Interval"/>, at most 500 intervals.</value>
    /// <remarks>Start-up only: read when the cache and the migrator are built.</remarks>
    public TimeSpan Horizon { get; set; } = TimeSpan.FromHours(4);

    internal void Validate(ICollection<string> failures, string tableName)
    {
        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromDays(1) || Interval.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            failures.Add($"Partitioning.{nameof(Interval)} is {Format(Interval)}; it must be a whole number of seconds from 1 second to 1 day.");
        }
        else if (Horizon < Interval || Horizon > Interval * 500)
        {
            failures.Add($"Partitioning.{nameof(Horizon)} is {Format(Horizon)}; it must be from one Interval ({Format(Interval)}) to 500 of them ({Format(Interval * 500)}).");
        }

        var bytes = System.Text.Encoding.UTF8.GetByteCount(tableName ?? "");
        if (bytes > MaximumTableNameBytes)
        {
            failures.Add($"TableName '{tableName}' is {bytes} bytes of UTF-8; a partitioned table's name has at most {MaximumTableNameBytes}.");
        }
    }

    private static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
}
