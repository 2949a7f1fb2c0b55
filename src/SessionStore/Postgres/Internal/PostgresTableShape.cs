namespace SessionStore.Postgres.Internal;

/// <summary>What an existing table lacks to be a session table for a cache, as <see cref="PostgresTableShape.Of"/> finds it.</summary>
internal enum TableShapeProblem
{
    None,
    Missing,
    OtherPayloadFormat,
    NoVersionColumn,
    NotASessionTable,
}

/// <summary>
/// The columns the statements rely on, and the one check of an existing table against them: the migrator runs it
/// before it changes anything (a table of that name made by something else must not get columns added), the cache's
/// ping and the migration tools before they read or write. A table of another shape failed later, mid-copy, with an
/// error that blamed the keys.
/// </summary>
internal static class PostgresTableShape
{
    /// <summary>The table's columns with their types as <c>format_type</c> writes them; no row when the table does not exist.</summary>
    public const string DescribeColumns = """
        SELECT attname, format_type(atttypid, atttypmod)
        FROM pg_catalog.pg_attribute
        WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped
        """;

    /// <summary>
    /// The columns every statement uses, as the schema scripts create them (the payload and version columns are checked
    /// apart; the layout, plain or partitioned, is the migrator's own check).
    /// </summary>
    private static readonly (string Name, string Type)[] KeyColumns =
    [
        ("sid", "character varying(255)"),
        ("user_id", "text"),
        ("expire", "timestamp with time zone"),
        ("sliding_expiration", "interval"),
        ("absolute_expire", "timestamp with time zone"),
    ];

    private const string VersionType = "bigint";

    /// <summary>The problem with a table of <paramref name="columns"/> for a cache writing <paramref name="payload"/>, and what it is in words.</summary>
    /// <param name="columns">The table's columns and their types, from <see cref="DescribeColumns"/>.</param>
    /// <param name="payload">The payload column the cache writes.</param>
    /// <param name="requireVersion">Whether the <c>ver</c> column must already be there (schema version 3 and later).</param>
    public static (TableShapeProblem Problem, string Reason) Of(IReadOnlyDictionary<string, string> columns, PostgresPayloadColumn payload, bool requireVersion)
    {
        if (columns.Count == 0)
        {
            return (TableShapeProblem.Missing, "it does not exist");
        }

        var missing = KeyColumns.Where(c => !columns.ContainsKey(c.Name)).Select(c => c.Name).ToList();
        if (!columns.ContainsKey("sess"))
        {
            missing.Add("sess");
        }

        if (missing.Count > 0)
        {
            return (TableShapeProblem.NotASessionTable, $"it has no column {string.Join(", ", missing)}");
        }

        foreach (var (name, type) in KeyColumns.Append(("ver", VersionType)))
        {
            if (columns.TryGetValue(name, out var found) && found != type)
            {
                return (TableShapeProblem.NotASessionTable, $"its column {name} is {found}, where SessionStore needs {type}");
            }
        }

        if (columns["sess"] != payload.ColumnType)
        {
            var other = PostgresPayloadColumn.For(payload.Format == PostgresPayloadFormat.Jsonb ? PostgresPayloadFormat.Bytea : PostgresPayloadFormat.Jsonb);
            return columns["sess"] == other.ColumnType
                ? (TableShapeProblem.OtherPayloadFormat, $"its sess column is {other.ColumnType}, where PayloadFormat {payload.Format} writes {payload.ColumnType}")
                : (TableShapeProblem.NotASessionTable, $"its column sess is {columns["sess"]}, where SessionStore needs {payload.ColumnType}");
        }

        return requireVersion && !columns.ContainsKey("ver")
            ? (TableShapeProblem.NoVersionColumn, "it has no ver column")
            : (TableShapeProblem.None, "");
    }

    /// <summary>The error for a table that something other than SessionStore created under the configured name.</summary>
    public static InvalidOperationException NotASessionTable(string table, string reason, Exception? innerException = null) => new(
        $"The table {table} exists but is not a SessionStore session table: {reason}. SessionStore does not change a table it did not create: " +
        $"set SessionStore:Postgres:TableName ({nameof(PostgresSessionCacheOptions)}.{nameof(PostgresSessionCacheOptions.TableName)}) to a table of its own, or SchemaName to another schema.",
        innerException);

    /// <summary>The error for a session table created with the other payload format.</summary>
    public static InvalidOperationException OtherPayloadFormat(string table, string reason, Exception? innerException) => new(
        $"The session table {table} was created with the other payload format: {reason}. " +
        $"Set SessionStore:Postgres:PayloadFormat ({nameof(PostgresSessionCacheOptions)}.{nameof(PostgresSessionCacheOptions.PayloadFormat)}) to match the table.",
        innerException);
}
