using Npgsql;

namespace SessionStore.Postgres.Internal;

/// <summary>What an existing table lacks to be a session table for a cache, as <see cref="PostgresTableShape.Of"/> finds it.</summary>
internal enum TableShapeProblem
{
    None,
    Missing,
    OtherPayloadFormat,
    OtherLayout,
    NoVersionColumn,
    NotASessionTable,
}

/// <summary>One column of a table, as the catalog describes it.</summary>
/// <param name="Type">Its type, as <c>format_type</c> writes it.</param>
/// <param name="NeedsValue">NOT NULL without a default: an insert that does not set it fails.</param>
internal readonly record struct TableColumn(string Type, bool NeedsValue);

/// <summary>
/// A relation as the catalog describes it: its kind (<c>pg_class.relkind</c>), whether <c>sid</c> alone is unique,
/// whether it has triggers of its own (which may fill a column), and its columns; no columns when it does not exist.
/// </summary>
internal sealed record TableDescription(char Kind, bool SidIsUnique, bool HasTriggers, IReadOnlyDictionary<string, TableColumn> Columns)
{
    public static readonly TableDescription None = new(' ', false, false, new Dictionary<string, TableColumn>());
}

/// <summary>
/// The shape the statements rely on, and the one check of an existing table against it: the migrator runs it before
/// it changes anything (a table of that name made by something else must not get columns and indexes added), the
/// cache's ping and the migration tools before they read or write. A table of another shape failed later, mid-copy,
/// with an error that blamed the keys.
/// </summary>
internal static class PostgresTableShape
{
    /// <summary>
    /// Each column of the relation $1 with its type and whether an insert must set it, then the relation's kind, whether
    /// sid alone has a unique index ON CONFLICT can use (immediate and valid), and whether it has triggers of its own;
    /// no row when it does not exist.
    /// </summary>
    private const string DescribeSql = """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '',
               c.relkind::text,
               EXISTS (SELECT FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute k ON k.attrelid = c.oid AND k.attnum = i.indkey[0]
                       WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid AND i.indnkeyatts = 1
                         AND i.indpred IS NULL AND i.indexprs IS NULL AND k.attname = 'sid'),
               EXISTS (SELECT FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
        WHERE c.oid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
        """;

    /// <summary>
    /// The columns the statements use, as the schema scripts create them (the payload and version columns are
    /// checked apart). The statements set all but the two timestamps, which take their defaults on insert.
    /// </summary>
    private static readonly (string Name, string Type)[] KeyColumns =
    [
        ("sid", "character varying(255)"),
        ("user_id", "text"),
        ("expire", "timestamp with time zone"),
        ("sliding_expiration", "interval"),
        ("absolute_expire", "timestamp with time zone"),
        ("created_at", "timestamp with time zone"),
        ("updated_at", "timestamp with time zone"),
    ];

    /// <summary>The columns every insert sets; a partitioned table's also set <c>bucket</c>.</summary>
    private static readonly HashSet<string> Written = ["sid", "sess", "user_id", "expire", "sliding_expiration", "absolute_expire", "ver"];

    private const string VersionType = "bigint";

    /// <summary>Describes the relation named <paramref name="table"/> (quoted and qualified) on <paramref name="connection"/>.</summary>
    public static async ValueTask<TableDescription> DescribeAsync(NpgsqlConnection connection, string table, bool async, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        return await DescribeAsync(command, table, async, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Describes the relation named <paramref name="table"/> with <paramref name="command"/> (the cache's own, bounded), whose text it sets.</summary>
    public static async ValueTask<TableDescription> DescribeAsync(NpgsqlCommand command, string table, bool async, CancellationToken cancellationToken)
    {
        command.CommandText = DescribeSql;
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
        using var reader = async ? await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false) : command.ExecuteReader();
        var rows = new List<(string, TableColumn, char, bool, bool)>();
        while (async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read())
        {
            rows.Add(Row(reader));
        }

        return Describe(rows);
    }

    private static (string Name, TableColumn Column, char Kind, bool SidIsUnique, bool HasTriggers) Row(NpgsqlDataReader r) =>
        (r.GetString(0), new TableColumn(r.GetString(1), r.GetBoolean(2)), r.GetString(3)[0], r.GetBoolean(4), r.GetBoolean(5));

    private static TableDescription Describe(List<(string Name, TableColumn Column, char Kind, bool SidIsUnique, bool HasTriggers)> rows) =>
        rows.Count == 0 ? TableDescription.None : new(rows[0].Kind, rows[0].SidIsUnique, rows[0].HasTriggers, rows.ToDictionary(r => r.Name, r => r.Column, StringComparer.Ordinal));

    /// <summary>The problem with <paramref name="table"/> for a cache writing <paramref name="payload"/> in the given layout, and what it is in words.</summary>
    /// <param name="table">The relation, from <see cref="DescribeAsync(NpgsqlCommand, string, bool, CancellationToken)"/>.</param>
    /// <param name="payload">The payload column the cache writes.</param>
    /// <param name="partitioned">Whether the cache is set up for the partitioned layout.</param>
    /// <param name="requireVersion">Whether the <c>ver</c> column must already be there (schema version 3 and later).</param>
    public static (TableShapeProblem Problem, string Reason) Of(TableDescription table, PostgresPayloadColumn payload, bool partitioned, bool requireVersion)
    {
        var columns = table.Columns;
        if (columns.Count == 0)
        {
            return (TableShapeProblem.Missing, "it does not exist");
        }

        if (table.Kind is not ('r' or 'p'))
        {
            return (TableShapeProblem.NotASessionTable, $"it is {KindName(table.Kind)}, not a table");
        }

        var missing = KeyColumns.Select(c => c.Name).Append("sess").Where(name => !columns.ContainsKey(name)).ToList();
        if (missing.Count > 0)
        {
            return (TableShapeProblem.NotASessionTable, $"it has no column {string.Join(", ", missing)}");
        }

        foreach (var (name, type) in KeyColumns.Append(("ver", VersionType)))
        {
            if (columns.TryGetValue(name, out var found) && found.Type != type)
            {
                return (TableShapeProblem.NotASessionTable, $"its column {name} is {found.Type}, where SessionStore needs {type}");
            }
        }

        // A trigger may fill such a column (a tenant id), so a table with triggers is given the benefit of the doubt.
        if (!table.HasTriggers && columns.FirstOrDefault(c => c.Value.NeedsValue && !Written.Contains(c.Key) && !(table.Kind == 'p' && c.Key == "bucket")) is { Key: { } unset })
        {
            return (TableShapeProblem.NotASessionTable, $"its column {unset} is NOT NULL without a default, and SessionStore's inserts do not set it");
        }

        if ((table.Kind == 'p') != partitioned)
        {
            return (TableShapeProblem.OtherLayout, table.Kind == 'p' ? "it is partitioned" : "it is not partitioned");
        }

        if (!partitioned && !table.SidIsUnique)
        {
            return (TableShapeProblem.NotASessionTable, "it has no primary key or unique index on sid alone that its writes can use (immediate, valid, without a WHERE clause)");
        }

        if (columns["sess"].Type != payload.ColumnType)
        {
            var other = PostgresPayloadColumn.For(payload.Format == PostgresPayloadFormat.Jsonb ? PostgresPayloadFormat.Bytea : PostgresPayloadFormat.Jsonb);
            return columns["sess"].Type == other.ColumnType
                ? (TableShapeProblem.OtherPayloadFormat, $"its sess column is {other.ColumnType}, where PayloadFormat {payload.Format} writes {payload.ColumnType}")
                : (TableShapeProblem.NotASessionTable, $"its column sess is {columns["sess"].Type}, where SessionStore needs {payload.ColumnType}");
        }

        return requireVersion && !columns.ContainsKey("ver")
            ? (TableShapeProblem.NoVersionColumn, "it has no ver column")
            : (TableShapeProblem.None, "");
    }

    private static string KindName(char kind) => kind switch
    {
        'v' => "a view",
        'm' => "a materialized view",
        'f' => "a foreign table",
        'S' => "a sequence",
        'i' or 'I' => "an index",
        _ => $"a relation of kind '{kind}'",
    };

    /// <summary>
    /// The error every caller reports alike for <paramref name="problem"/>: a table of another shape, payload format
    /// or layout. Null for the problems each caller handles its own way (none, missing, no version column).
    /// </summary>
    public static InvalidOperationException? ErrorFor(TableShapeProblem problem, string reason, string table, bool partitioned) => problem switch
    {
        TableShapeProblem.NotASessionTable => NotASessionTable(table, reason),
        TableShapeProblem.OtherPayloadFormat => OtherPayloadFormat(table, reason, innerException: null),
        TableShapeProblem.OtherLayout => OtherLayout(table, partitioned),
        _ => null,
    };

    /// <summary>The error for a table that something other than SessionStore created under the configured name.</summary>
    public static InvalidOperationException NotASessionTable(string table, string reason, Exception? innerException = null) => new(
        $"The table {table} exists but is not a SessionStore session table: {reason}. SessionStore does not change such a table: " +
        $"set SessionStore:Postgres:TableName ({nameof(PostgresSessionCacheOptions)}.{nameof(PostgresSessionCacheOptions.TableName)}) to a table of its own, or SchemaName to another schema.",
        innerException);

    /// <summary>The error for a session table created with the other payload format.</summary>
    public static InvalidOperationException OtherPayloadFormat(string table, string reason, Exception? innerException) => new(
        $"The session table {table} was created with the other payload format: {reason}. " +
        $"Set SessionStore:Postgres:PayloadFormat ({nameof(PostgresSessionCacheOptions)}.{nameof(PostgresSessionCacheOptions.PayloadFormat)}) to match the table.",
        innerException);

    /// <summary>The error for a session table of the other layout: the history records versions, not layouts, so a table created plain stays plain, and the other way round.</summary>
    private static InvalidOperationException OtherLayout(string table, bool partitioned) => new(partitioned
        ? $"The session table {table} exists and is not partitioned; a plain table is not converted. Use a new table name for the partitioned layout, or leave PostgresSessionCacheOptions.Partitioning (SessionStore:Postgres:Partitioning) unset."
        : $"The session table {table} is partitioned, but PostgresSessionCacheOptions.Partitioning (SessionStore:Postgres:Partitioning) is not set. Set it, or use another table.");
}
