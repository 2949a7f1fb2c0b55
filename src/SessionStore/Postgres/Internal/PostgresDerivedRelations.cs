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
    // Per relation: 'missing', 'ok', or 'other' (something else holds the name). $n is the relation, $n+1 what it
    // belongs to (a table) or the columns its script creates (a table that is not a session table: no sid).
    private const string IndexState = "CASE WHEN to_regclass(${0}) IS NULL THEN 'missing' WHEN EXISTS (SELECT FROM pg_catalog.pg_index WHERE indexrelid = to_regclass(${0}) AND indrelid = to_regclass(${1})) THEN 'ok' ELSE 'other' END";
    private const string PartitionState = "CASE WHEN to_regclass(${0}) IS NULL THEN 'missing' WHEN EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = to_regclass(${0}) AND inhparent = to_regclass(${1})) THEN 'ok' ELSE 'other' END";
    private const string TableState = """
        CASE WHEN to_regclass(${0}) IS NULL THEN 'missing'
             WHEN (SELECT count(*) FILTER (WHERE a.attname = ANY(${1}::text[])) = cardinality(${1}::text[]) AND count(*) FILTER (WHERE a.attname = 'sid') = 0
                   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   WHERE c.oid = to_regclass(${0}) AND c.relkind = 'r') THEN 'ok'
             ELSE 'other' END
        """;

    /// <summary>
    /// A derived relation that is missing: its quoted name, the placeholder the scripts create it under, and for an
    /// index, the placeholder of the relation it indexes.
    /// </summary>
    public sealed record Missing(string Name, string Placeholder, string? IndexOn);

    /// <summary>
    /// The derived relations that are missing (empty when all are there); throws naming the first that another relation
    /// holds (the message says what it should be). One round trip: it runs at every migration, inside the schema's lock.
    /// </summary>
    public static async ValueTask<IReadOnlyList<Missing>> MissingAsync(NpgsqlConnection connection, PostgresSql sql, string instancesTable, bool partitioned, bool async, CancellationToken cancellationToken)
    {
        var expireIndexOn = partitioned ? sql.ForeverPartition : sql.Table;
        var checks = new List<(string Relation, string Placeholder, string? IndexOn, string Purpose, string State, object Expected)>
        {
            ($"{sql.Schema}.{sql.ExpireIndex}", "expire_index", partitioned ? "forever_partition" : "table", $"the index on expire of {expireIndexOn}", IndexState, expireIndexOn),
            ($"{sql.Schema}.{sql.UserIndex}", "user_index", "table", $"the index on user_id of {sql.Table}", IndexState, sql.Table),
            (sql.LastCleanup, "last_cleanup", null, "the table of the last cleanup run", TableState, new[] { "id", "finished_at", "rows_deleted", "partitions_dropped", "duration" }),
            (instancesTable, "instances", null, "the table of the instances using it", TableState, new[] { "instance_id", "phase", "started_at", "last_heartbeat" }),
        };
        if (partitioned)
        {
            checks.Add((sql.ForeverPartition, "forever_partition", null, $"the partition of {sql.Table} for entries that never expire", PartitionState, sql.Table));
            checks.Add((sql.Partitioning, "partitioning", null, "the table of its bucket width and horizon", TableState, new[] { "one_row", "bucket_width", "horizon" }));
        }

        // Parameter numbers only go into the text; every name is a parameter.
        var states = string.Join(", ", checks.Select((c, i) => string.Format(System.Globalization.CultureInfo.InvariantCulture, c.State, 2 * i + 1, 2 * i + 2)));
        var parameters = checks.SelectMany(c => new[] { c.Relation, c.Expected }).ToArray();
        var found = (string[])(await PostgresCommand.ScalarAsync(connection, $"SELECT ARRAY[{states}]", async, cancellationToken, parameters).ConfigureAwait(false))!;
        for (var i = 0; i < checks.Count; i++)
        {
            if (found[i] == "other")
            {
                throw new InvalidOperationException(
                    $"{checks[i].Relation} is the name SessionStore gives {checks[i].Purpose}, but a relation that is not that already holds it (another session table, say, or a partition detached by hand). " +
                    $"Nothing was changed. Set SessionStore:Postgres:TableName ({nameof(PostgresSessionCacheOptions)}.{nameof(PostgresSessionCacheOptions.TableName)}) to another name, or rename or drop that relation.");
            }
        }

        return checks.Where((_, i) => found[i] == "missing").Select(c => new Missing(c.Relation, c.Placeholder, c.IndexOn)).ToList();
    }
}
