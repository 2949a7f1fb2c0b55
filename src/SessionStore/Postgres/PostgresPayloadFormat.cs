namespace SessionStore.Postgres;

/// <summary>How the <c>sess</c> column holds a value. Chosen when the table is created; a table keeps its format.</summary>
public enum PostgresPayloadFormat
{
    /// <summary>
    /// Readable JSON (<c>jsonb</c>): the session's id and key-to-value map, queryable with SQL. The server parses it on
    /// every write and prints it on every read, which costs throughput.
    /// </summary>
    Jsonb,

    /// <summary>The value's bytes as they are (<c>bytea</c>): no JSON work on either side, not readable in SQL.</summary>
    Bytea,
}
