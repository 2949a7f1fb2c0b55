using System.Globalization;
using Npgsql;

namespace SessionStore.Postgres.Internal;

/// <summary>
/// Creates the partitions of a partitioned session table ahead of time and drops those whose bucket has passed.
/// Callers run it inside a transaction; it serializes with other maintainers of the same table itself.
/// </summary>
internal static class PostgresPartitions
{
    /// <summary>The partitions of the table with the bucket each holds, read from the catalog.</summary>
    private const string ExistingPartitions = """
        existing AS (
            SELECT c.relname,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'IN \(''([^'']*)''\)'))[1]::timestamptz AS bound
            FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::regclass
        )
        """;

    /// <summary>The name of the partition holding <paramref name="bucket"/>; the table name leaves room for it.</summary>
    public static string PartitionName(string tableName, DateTime bucket) =>
        tableName + "_" + bucket.ToUniversalTime().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    /// <summary>
    /// Creates every missing partition from the next bucket up to <paramref name="horizon"/> from now and moves the
    /// horizon that writers read; with <paramref name="dropExpired"/>, drops every partition whose bucket ended at
    /// least one bucket width ago (a grace period for a writer whose statement began before its bucket passed).
    /// </summary>
    /// <returns>How many partitions were created and dropped.</returns>
    /// <remarks><paramref name="commandTimeout"/>: Npgsql's timeout for each statement, when not the connection's.</remarks>
    public static async ValueTask<(int Created, int Dropped)> MaintainAsync(
        NpgsqlConnection connection, PostgresSql sql, TimeSpan horizon, bool dropExpired, bool async, CancellationToken cancellationToken, int? commandTimeout = null)
    {
        // Two maintainers (a migrating instance and a cleaner) would otherwise both create the same partition.
        await PostgresCommand.ScalarAsync(connection, commandTimeout, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", async, cancellationToken,
            "sessionstore.partitions:" + sql.Table).ConfigureAwait(false);

        var missing = await PostgresCommand.QueryAsync(connection, commandTimeout, $"""
            WITH {ExistingPartitions}
            SELECT b FROM {sql.Partitioning} AS m,
                generate_series(date_bin(m.bucket_width, now(), {PostgresSql.BucketOrigin}) + m.bucket_width,
                                date_bin(m.bucket_width, now() + $2, {PostgresSql.BucketOrigin}) + m.bucket_width,
                                m.bucket_width) AS b
            WHERE NOT EXISTS (SELECT FROM existing e WHERE e.bound = b)
            ORDER BY b
            """, r => r.GetFieldValue<DateTime>(0), async, cancellationToken, sql.Table, horizon).ConfigureAwait(false);

        foreach (var bucket in missing)
        {
            // DDL takes no parameters: the bound is an instant this code formats, never outside text.
            var bound = bucket.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'+00'", CultureInfo.InvariantCulture);
            await PostgresCommand.ScalarAsync(connection, commandTimeout,
                $"CREATE TABLE {sql.QualifiedPartition(PartitionName(sql.TableName, bucket))} PARTITION OF {sql.Table} FOR VALUES IN ('{bound}')",
                async, cancellationToken).ConfigureAwait(false);
        }

        // Only now that every bucket up to it has a partition may writers use it.
        await PostgresCommand.ScalarAsync(connection, commandTimeout, $"""
            UPDATE {sql.Partitioning}
            SET horizon = greatest(horizon, date_bin(bucket_width, now() + $1, {PostgresSql.BucketOrigin}) + bucket_width)
            """, async, cancellationToken, horizon).ConfigureAwait(false);

        if (!dropExpired)
        {
            return (missing.Count, 0);
        }

        var expired = await PostgresCommand.QueryAsync(connection, commandTimeout, $"""
            WITH {ExistingPartitions}
            SELECT e.relname FROM existing e, {sql.Partitioning} AS m
            WHERE isfinite(e.bound) AND e.bound + m.bucket_width <= now()
            ORDER BY e.bound
            """, r => r.GetString(0), async, cancellationToken, sql.Table).ConfigureAwait(false);
        foreach (var partition in expired)
        {
            await PostgresCommand.ScalarAsync(connection, commandTimeout, $"DROP TABLE {sql.QualifiedPartition(partition)}", async, cancellationToken).ConfigureAwait(false);
        }

        return (missing.Count, expired.Count);
    }
}
