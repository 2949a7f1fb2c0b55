using Npgsql;

namespace SessionStore.Postgres.Internal;

/// <summary>
/// The relations the schema scripts create beside a session table, under names derived from it (<c>_expire_idx</c>,
/// <c>_last_cleanup</c>, …), checked to be the ones SessionStore made. The scripts create them <c>IF NOT EXISTS</c>, so
/// a relation already under such a name (another session table called <c>sessions_last_cleanup</c>, say) was taken
/// as theirs: the index was never made, or each cleanup run failed writing its record into the other table.
/// </summary>
internal static class PostgresDerivedRelations
{
    private const string IsIndexOf = "SELECT EXISTS (SELECT FROM pg_catalog.pg_index WHERE indexrelid = to_regclass($1) AND indrelid = to_regclass($2))";
    private const string IsPartitionOf = "SELECT EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = to_regclass($2))";

    // A table holding every column its script creates, and not a session table (which has sid).
    private const string HasColumns = """
        SELECT count(*) FILTER (WHERE a.attname = ANY($2)) = cardinality($2) AND count(*) FILTER (WHERE a.attname = 'sid') = 0
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.oid = to_regclass($1) AND c.relkind = 'r'
        """;

    /// <summary>Throws naming the first derived relation that is not SessionStore's; run after the scripts, in their transaction, so that nothing they did stays.</summary>
    public static async ValueTask CheckAsync(NpgsqlConnection connection, PostgresSql sql, string instancesTable, bool partitioned, bool async, CancellationToken cancellationToken)
    {
        var expireIndexOn = partitioned ? sql.ForeverPartition : sql.Table;
        var checks = new List<(string Relation, string Purpose, string Sql, object Expected)>
        {
            ($"{sql.Schema}.{sql.ExpireIndex}", $"the index on expire of {expireIndexOn}", IsIndexOf, expireIndexOn),
            ($"{sql.Schema}.{sql.UserIndex}", $"the index on user_id of {sql.Table}", IsIndexOf, sql.Table),
            (sql.LastCleanup, "the table of the last cleanup run", HasColumns, new[] { "id", "finished_at", "rows_deleted", "partitions_dropped", "duration" }),
            (instancesTable, "the table of the instances using it", HasColumns, new[] { "instance_id", "phase", "started_at", "last_heartbeat" }),
        };
        if (partitioned)
        {
            checks.Add((sql.ForeverPartition, $"the partition of {sql.Table} for entries that never expire", IsPartitionOf, sql.Table));
            checks.Add((sql.Partitioning, "the table of its bucket width and horizon", HasColumns, new[] { "one_row", "bucket_width", "horizon" }));
        }

        foreach (var (relation, purpose, check, expected) in checks)
        {
            if (!(bool)(await PostgresCommand.ScalarAsync(connection, check, async, cancellationToken, relation, expected).ConfigureAwait(false))!)
            {
                throw new InvalidOperationException(
                    $"{relation} is the name SessionStore gives {purpose}, but another relation already holds it (another session table, say). " +
                    $"Nothing was changed. Set SessionStore:Postgres:TableName ({nameof(PostgresSessionCacheOptions)}.{nameof(PostgresSessionCacheOptions.TableName)}) to another name, or rename that relation.");
            }
        }
    }
}
