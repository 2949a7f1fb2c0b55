namespace SessionStore.Postgres.Internal;

/// <summary>The statements for one session table. Identifiers are quoted here and nowhere else; values are always parameters.</summary>
internal sealed class PostgresSql
{
    // An expiry is extended only when it would move by more than the threshold fraction of the window ($2).
    private const string TouchWhere = """
        sid = $1 AND expire > now() AND sliding_expiration IS NOT NULL
          AND least(now() + sliding_expiration, absolute_expire) - expire > sliding_expiration * $2
        """;

    private const string TouchSet = "expire = least(now() + sliding_expiration, absolute_expire), updated_at = now()";

    // What a reader needs to know about the remaining lifetime; timestamps minus now() so no clocks are compared.
    private const string ExpiryColumns = """
        CASE WHEN isfinite(expire) THEN expire - now() END, sliding_expiration, absolute_expire - now()
        """;

    public PostgresSql(string schemaName, string tableName)
    {
        Schema = Quote(schemaName);
        Table = $"{Schema}.{Quote(tableName)}";
        ExpireIndex = Quote(tableName + "_expire_idx");
        UserIndex = Quote(tableName + "_user_id_idx");

        // One statement: a lazy sliding touch when due, else a plain read; an expired row is never returned.
        Get = $"""
            WITH touched AS (
                UPDATE {Table} SET {TouchSet}
                WHERE {TouchWhere}
                RETURNING sess, {ExpiryColumns}
            )
            SELECT * FROM touched
            UNION ALL
            SELECT sess, {ExpiryColumns} FROM {Table}
            WHERE sid = $1 AND expire > now() AND NOT EXISTS (SELECT FROM touched)
            """;

        Refresh = $"UPDATE {Table} SET {TouchSet} WHERE {TouchWhere}";

        // $4 sliding, $5 absolute, $6 absolute relative to now: relative times use the database clock.
        const string Absolute = "coalesce($5, now() + $6)";
        const string Expire = $"coalesce(least(now() + $4, {Absolute}), 'infinity')";
        Set = $"""
            INSERT INTO {Table} AS s (sid, sess, user_id, expire, sliding_expiration, absolute_expire)
            VALUES ($1, $2, $3, {Expire}, $4, {Absolute})
            ON CONFLICT (sid) DO UPDATE SET
                sess = excluded.sess, user_id = excluded.user_id, expire = excluded.expire,
                sliding_expiration = excluded.sliding_expiration, absolute_expire = excluded.absolute_expire,
                created_at = CASE WHEN s.expire > now() THEN s.created_at ELSE now() END,
                updated_at = now()
            """;

        // An expired row still occupies its key until cleanup: "absent" means no live row.
        SetIfAbsent = Set + "\nWHERE s.expire <= now()";

        // $7 the value the live row must still hold (jsonb equality ignores key order).
        SetIfUnchanged = $"""
            UPDATE {Table} SET sess = $2, user_id = $3, expire = {Expire},
                sliding_expiration = $4, absolute_expire = {Absolute}, updated_at = now()
            WHERE sid = $1 AND expire > now() AND sess = $7
            """;

        Remove = $"DELETE FROM {Table} WHERE sid = $1";
        RevokeUser = $"DELETE FROM {Table} WHERE user_id = $1";
    }

    public string Schema { get; }

    public string Table { get; }

    public string ExpireIndex { get; }

    public string UserIndex { get; }

    public string Get { get; }

    public string Refresh { get; }

    public string Set { get; }

    public string SetIfAbsent { get; }

    public string SetIfUnchanged { get; }

    public string Remove { get; }

    public string RevokeUser { get; }

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
