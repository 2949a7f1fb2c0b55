namespace SessionStore.Postgres.Internal;

/// <summary>The statements for one session table. Identifiers are quoted here and nowhere else; values are always parameters.</summary>
internal sealed class PostgresSql
{
    /// <summary>The origin buckets are aligned to; any fixed instant works, it only has to be the same everywhere.</summary>
    public const string BucketOrigin = "timestamptz '2000-01-01 00:00:00+00'";

    /// <summary>Turns synchronous commit off until the end of the current (implicit) transaction only.</summary>
    public const string SynchronousCommitOff = "SELECT set_config('synchronous_commit', 'off', true)";

    // An expiry is extended only when it would move by more than the threshold fraction of the window ($2).
    private const string TouchWhere = """
        sid = $1 AND expire > now() AND sliding_expiration IS NOT NULL
          AND least(now() + sliding_expiration, absolute_expire) - expire > sliding_expiration * $2
        """;

    private const string TouchedExpire = "least(now() + sliding_expiration, absolute_expire)";

    // The database server's clock in microseconds: an ordinary write's version is at least this, so a store
    // restarted empty still issues versions newer than any copy made before (see WriteCondition).
    private const string ClockVersion = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

    // The version of an ordinary write over a stored one; a copy (absent, unchanged) only steps past the stored one.
    private const string NextVersion = $"greatest(s.ver + 1, {ClockVersion})";

    private const string NewAbsoluteExpire = "coalesce($5, now() + $6)";
    private const string NewExpire = $"coalesce(least(now() + $4, {NewAbsoluteExpire}), 'infinity')";

    // What a reader needs to know about the remaining lifetime; timestamps minus now() so no clocks are compared.
    private const string ExpiryColumns = """
        CASE WHEN isfinite(expire) THEN expire - now() END, sliding_expiration, absolute_expire - now()
        """;

    public PostgresSql(string schemaName, string tableName, bool partitioned = false)
    {
        // Validated and quoted by PostgresIdentifier, the one place that does either.
        var table = PostgresIdentifier.Create(nameof(PostgresSessionCacheOptions.TableName), tableName,
            partitioned ? PostgresPartitioningOptions.MaximumTableNameBytes : PostgresSessionCacheOptions.MaximumTableNameBytes);
        SchemaName = schemaName;
        TableName = tableName;
        Partitioned = partitioned;
        Schema = PostgresIdentifier.CreateSchema(nameof(PostgresSessionCacheOptions.SchemaName), schemaName).Quoted;
        Table = $"{Schema}.{table.Quoted}";
        ExpireIndex = table.WithSuffix("_expire_idx").Quoted;
        UserIndex = table.WithSuffix("_user_id_idx").Quoted;
        ForeverPartition = $"{Schema}.{table.WithSuffix("_forever").Quoted}";
        Partitioning = $"{Schema}.{table.WithSuffix("_partitioning").Quoted}";
        LastCleanup = $"{Schema}.{table.WithSuffix("_last_cleanup").Quoted}";

        // A partitioned row lives in the bucket (partition) named by the first aligned instant after its
        // expiry; a touch moves it only when the new expiry passes that instant (see docs/cleanup.md).
        var touch = partitioned
            ? $"""
              UPDATE {Table} AS s SET expire = {TouchedExpire}, updated_at = now(),
                  bucket = {Rebucket(TouchedExpire, "s.bucket")}
              FROM {Partitioning} AS m
              WHERE {TouchWhere}
              """
            : $"UPDATE {Table} SET expire = {TouchedExpire}, updated_at = now() WHERE {TouchWhere}";

        // A primary-key read; the cache sends the touch (Refresh) after it only when the read shows it due.
        // LIMIT 1 lets a partitioned read stop at the first partition holding the key. An expired row is never returned.
        Get = $"SELECT sess, {ExpiryColumns}, ver FROM {Table} WHERE sid = $1 AND expire > now(){(partitioned ? " LIMIT 1" : "")}";

        // Reads coalesced into one statement (StatementBatcher), $1 their keys: the same columns, then the key.
        GetMany = $"SELECT sess, {ExpiryColumns}, ver, sid FROM {Table} WHERE sid = ANY($1) AND expire > now()";

        // One statement: the touch when due ($2 the threshold), else a plain read. For a threshold of 0, where
        // every read touches, this saves the second round trip.
        GetAndTouch = $"""
            WITH touched AS (
                {touch}
                RETURNING sess, {ExpiryColumns}, ver
            )
            SELECT * FROM touched
            UNION ALL
            SELECT sess, {ExpiryColumns}, ver FROM {Table}
            WHERE sid = $1 AND expire > now() AND NOT EXISTS (SELECT FROM touched)
            {(partitioned ? "LIMIT 1" : "")}
            """;

        Refresh = touch;

        // $4 sliding, $5 absolute, $6 absolute relative to now: relative times use the database clock.
        // Each write has two forms: bare (a caller may append its own RETURNING) and returning the version written.
        (Set, SetReturningVersion) = partitioned
            ? PartitionedUpsert(updateWhere: "s.sid = $1", insertWhere: "NOT EXISTS (SELECT FROM updated)", NextVersion, ClockVersion)
            : Returning(PlainUpsert(ClockVersion, NextVersion, where: ""));

        // Copies between stores (see WriteCondition). An expired row still occupies its key until cleanup, so
        // "absent" means no live row.
        (SetIfAbsent, SetIfAbsentReturningVersion) = partitioned
            ? PartitionedUpsert(
                updateWhere: "s.sid = $1 AND s.expire <= now()",
                insertWhere: $"NOT EXISTS (SELECT FROM updated) AND NOT EXISTS (SELECT FROM {Table} WHERE sid = $1)",
                "s.ver + 1",
                "1")
            : Returning(PlainUpsert("1", "s.ver + 1", where: "WHERE s.expire <= now()"));

        // $7 the version to write, applied only over an older one (or no live row).
        (SetIfOlder, SetIfOlderReturningVersion) = partitioned
            ? PartitionedUpsert(
                updateWhere: "s.sid = $1 AND (s.ver < $7 OR s.expire <= now())",
                insertWhere: $"NOT EXISTS (SELECT FROM updated) AND NOT EXISTS (SELECT FROM {Table} WHERE sid = $1)",
                "$7",
                "$7")
            : Returning(PlainUpsert("$7", "$7", where: "WHERE s.ver < $7 OR s.expire <= now()"));

        // $7 the value the live row must still hold (jsonb equality ignores key order).
        SetIfUnchanged = $"""
            WITH v AS (SELECT {NewExpire} AS expire, {NewAbsoluteExpire} AS absolute_expire)
            UPDATE {Table} AS s SET
                sess = $2, user_id = $3, expire = v.expire, sliding_expiration = $4, absolute_expire = v.absolute_expire,
                updated_at = now(), ver = s.ver + 1{(partitioned ? $", bucket = {Rebucket("v.expire", "s.bucket")}" : "")}
            FROM v{(partitioned ? $", {Partitioning} AS m" : "")}
            WHERE s.sid = $1 AND s.expire > now() AND s.sess = $7
            """;
        SetIfUnchangedReturningVersion = SetIfUnchanged + VersionReturned;

        // Deletes every row of the user, expired ones too (nothing is gained by leaving them to the cleanup), but
        // counts only the live ones: a row past its expiry was no session of the user any more, and "log out
        // everywhere" reports the sessions it ended, as Redis, whose expired entries are gone already, does.
        RevokeUser = $"WITH d AS (DELETE FROM {Table} WHERE user_id = $1 RETURNING expire) SELECT count(*) FROM d WHERE expire > now()";

        // A partitioned table has no unique index on sid alone, so writers of one key take turns on this lock
        // ($1 the key); held until the end of the implicit transaction of the batch it opens.
        SetLock = $"SELECT pg_advisory_xact_lock({StableHash(Table)}, hashtext($1))";

        Remove = $"DELETE FROM {Table} WHERE sid = $1";

        // $1 rows deleted, $2 partitions dropped, $3 duration.
        RecordCleanup = $"""
            INSERT INTO {LastCleanup} AS l (finished_at, rows_deleted, partitions_dropped, duration) VALUES (now(), $1, $2, $3)
            ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, rows_deleted = excluded.rows_deleted,
                partitions_dropped = excluded.partitions_dropped, duration = excluded.duration
            """;

        // The migration tools read without touching, so that looking at a session never extends it. user_id comes
        // too, so verify can see a row recorded under another user than its session names (a copy made without the
        // application's UserIdSessionKey), which "log out everywhere" would miss.
        ReadMany = $"SELECT sid, sess, {ExpiryColumns}, user_id FROM {Table} WHERE sid = ANY($1) AND expire > now()";

        // Records $3 as the user of the live row of $1 only while it still holds the session $2 names that user in:
        // a write since then recorded its own. The value, lifetime and version stay: the session did not change.
        RecordUserId = $"UPDATE {Table} SET user_id = $3 WHERE sid = $1 AND expire > now() AND sess = $2 AND user_id IS DISTINCT FROM $3";

        // Keys of live rows in key order after $1, $2 at a time: a full pass that never holds a long snapshot.
        LiveKeysAfter = $"SELECT sid FROM {Table} WHERE expire > now() AND sid > $1 ORDER BY sid LIMIT $2";

        // A random sample of live keys; ORDER BY random() sorts every live key, acceptable for an occasional check.
        SampleLiveKeys = $"SELECT sid FROM {Table} WHERE expire > now() ORDER BY random() LIMIT $1";

        CountRows = $"SELECT count(*) FILTER (WHERE expire > now()), count(*) FILTER (WHERE expire <= now()) FROM {Table}";

        // Deletes one row version only ($2 what a write returned): any later write to the key made a new one. A plain
        // table names it by xmin; a partitioned table cannot return a system column from its insert, so by the
        // version stamp, which every later write of the key raises.
        var version = partitioned ? "ver = $2" : "xmin = $2";
        DeleteVersion = $"DELETE FROM {Table} WHERE sid = $1 AND {version}";

        // Shortens one row version only ($2 as above) to $3 from now: a copy's fresh sliding window cut to the time its
        // source had left. The bucket stays: an earlier expiry still lies within it.
        CapExpiryOfVersion = $"UPDATE {Table} SET expire = least(expire, now() + $3) WHERE sid = $1 AND {version}";

        // Rows still locked by a writer are skipped, and the expiry is checked again on the row actually deleted,
        // so a session refreshed or overwritten meanwhile survives. Returns rows selected and rows deleted: only a
        // selection short of the limit means the run is done. A partitioned table deletes rows only from
        // the partition that is never dropped: the others go whole.
        var doomedFilter = partitioned ? "bucket = 'infinity' AND " : "";
        var deleteFilter = partitioned ? "s.bucket = 'infinity' AND " : "";
        DeleteExpiredBatch = $"""
            WITH doomed AS (
                SELECT sid FROM {Table}
                WHERE {doomedFilter}expire <= now()
                ORDER BY expire
                LIMIT $1
                FOR UPDATE SKIP LOCKED
            ),
            deleted AS (
                DELETE FROM {Table} AS s USING doomed
                WHERE {deleteFilter}s.sid = doomed.sid AND s.expire <= now()
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM doomed), (SELECT count(*) FROM deleted)
            """;
    }

    public string SchemaName { get; }

    public string TableName { get; }

    public bool Partitioned { get; }

    public string Schema { get; }

    public string Table { get; }

    public string ExpireIndex { get; }

    public string UserIndex { get; }

    /// <summary>The partition of a partitioned table holding rows that never expire or expire past the horizon.</summary>
    public string ForeverPartition { get; }

    /// <summary>The one-row table holding a partitioned table's bucket width and horizon.</summary>
    public string Partitioning { get; }

    /// <summary>The one-row table holding the last cleanup run (schema version 2).</summary>
    public string LastCleanup { get; }

    public string RecordCleanup { get; }

    public string Get { get; }

    public string GetMany { get; }

    public string GetAndTouch { get; }

    public string Refresh { get; }

    public string Set { get; }

    public string SetIfAbsent { get; }

    public string SetIfUnchanged { get; }

    public string SetIfOlder { get; }

    public string SetReturningVersion { get; }

    public string SetIfAbsentReturningVersion { get; }

    public string SetIfUnchangedReturningVersion { get; }

    public string SetIfOlderReturningVersion { get; }

    public string RevokeUser { get; }

    public string SetLock { get; }

    public string Remove { get; }

    public string DeleteExpiredBatch { get; }

    public string ReadMany { get; }

    public string RecordUserId { get; }

    public string LiveKeysAfter { get; }

    public string SampleLiveKeys { get; }

    public string CountRows { get; }

    public string DeleteVersion { get; }

    public string CapExpiryOfVersion { get; }

    /// <summary>The table's name for logs and metric tags: unquoted, schema-qualified.</summary>
    public string DisplayName => $"{SchemaName}.{TableName}";

    /// <summary>A partition of this table, by name.</summary>
    public string QualifiedPartition(string partitionName) => $"{Schema}.{PostgresIdentifier.FromCatalog(partitionName).Quoted}";

    private const string VersionReturned = "\nRETURNING s.ver";

    private static (string Bare, string ReturningVersion) Returning(string sql) => (sql, sql + VersionReturned);

    /// <summary>An upsert on the plain table's unique sid: inserts with <paramref name="insertVersion"/>, or updates where <paramref name="where"/> holds.</summary>
    private string PlainUpsert(string insertVersion, string updateVersion, string where) => $"""
        INSERT INTO {Table} AS s (sid, sess, user_id, expire, sliding_expiration, absolute_expire, ver)
        VALUES ($1, $2, $3, {NewExpire}, $4, {NewAbsoluteExpire}, {insertVersion})
        ON CONFLICT (sid) DO UPDATE SET
            sess = excluded.sess, user_id = excluded.user_id, expire = excluded.expire,
            sliding_expiration = excluded.sliding_expiration, absolute_expire = excluded.absolute_expire,
            created_at = CASE WHEN s.expire > now() THEN s.created_at ELSE now() END,
            updated_at = now(), ver = {updateVersion}
        {where}
        """.TrimEnd();

    /// <summary>
    /// Updates the key's row where <paramref name="updateWhere"/> holds, else inserts one where <paramref name="insertWhere"/> holds.
    /// The bare form ends with the INSERT, so a caller's RETURNING sees inserted rows only; the other returns the
    /// version written by either.
    /// </summary>
    private (string Bare, string ReturningVersion) PartitionedUpsert(string updateWhere, string insertWhere, string updateVersion, string insertVersion)
    {
        var head = $"""
            WITH v AS (SELECT {NewExpire} AS expire, {NewAbsoluteExpire} AS absolute_expire),
            updated AS (
                UPDATE {Table} AS s SET
                    sess = $2, user_id = $3, expire = v.expire, sliding_expiration = $4, absolute_expire = v.absolute_expire,
                    created_at = CASE WHEN s.expire > now() THEN s.created_at ELSE now() END,
                    updated_at = now(), ver = {updateVersion},
                    bucket = {Rebucket("v.expire", "s.bucket")}
                FROM v, {Partitioning} AS m
                WHERE {updateWhere}
                RETURNING s.ver
            )
            """;
        var insert = $"""
            INSERT INTO {Table} (sid, sess, user_id, expire, sliding_expiration, absolute_expire, bucket, ver)
            SELECT $1, $2, $3, v.expire, $4, v.absolute_expire, {BucketFor("v.expire")}, {insertVersion}
            FROM v, {Partitioning} AS m
            WHERE {insertWhere}
            """;
        return (
            head + "\n" + insert,
            head + $",\ninserted AS (\n{insert}\nRETURNING ver\n)\nSELECT ver FROM updated UNION ALL SELECT ver FROM inserted");
    }

    /// <summary>
    /// The bucket for a row expiring at <paramref name="expiry"/>: the first aligned instant after both it and
    /// now (so never a partition that may already be dropped), or the forever partition when that instant is past
    /// the horizon up to which partitions are known to exist. <c>m</c> is the partitioning row.
    /// </summary>
    private static string BucketFor(string expiry) => $"""
        CASE WHEN NOT isfinite({expiry}) THEN 'infinity'::timestamptz
             WHEN date_bin(m.bucket_width, greatest({expiry}, now()), {BucketOrigin}) + m.bucket_width <= m.horizon
             THEN date_bin(m.bucket_width, greatest({expiry}, now()), {BucketOrigin}) + m.bucket_width
             ELSE 'infinity'::timestamptz END
        """;

    /// <summary>A row keeps its bucket while its expiry still fits; it only ever moves to a later one.</summary>
    private static string Rebucket(string expiry, string currentBucket) =>
        $"CASE WHEN {expiry} <= {currentBucket} THEN {currentBucket} ELSE {BucketFor(expiry)} END";

    /// <summary>A 32-bit key derived from the table name, the same in every process (string.GetHashCode is not).</summary>
    private static int StableHash(string text)
    {
        var hash = 2166136261;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return unchecked((int)hash);
    }
}
