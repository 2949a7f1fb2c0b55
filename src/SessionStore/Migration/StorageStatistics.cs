using Npgsql;
using SessionStore.Internal;
using SessionStore.Migration.Internal;
using SessionStore.Postgres;

namespace SessionStore.Migration;

/// <summary>
/// A snapshot of both stores for operators: live sessions per store, expired rows awaiting cleanup, the table's
/// sizes, its HOT-update ratio and the last cleanup run. A store that is not configured is left out (null).
/// </summary>
public sealed class StorageStatistics
{

    private StorageStatistics()
    {
    }

    /// <summary>Live sessions under the Redis instance prefix; null when Redis is not configured.</summary>
    public long? RedisLiveSessions { get; private set; }

    /// <summary>Live rows in the session table; null when PostgreSQL is not configured.</summary>
    public long? PostgresLiveSessions { get; private set; }

    /// <summary>Expired rows the cleanup has not deleted yet.</summary>
    public long? PostgresExpiredRows { get; private set; }

    /// <summary>The table's size in bytes (heap and TOAST, every partition), without indexes.</summary>
    public long? TableBytes { get; private set; }

    /// <summary>Each index of the table and its size in bytes (summed over partitions).</summary>
    public IReadOnlyDictionary<string, long> IndexBytes { get; private set; } = new Dictionary<string, long>();

    /// <summary>Row updates since the server's statistics were last reset (<c>pg_stat_user_tables.n_tup_upd</c>).</summary>
    public long? Updates { get; private set; }

    /// <summary>The share of those updates that were HOT (no index touched); null before any update.</summary>
    public double? HotUpdateRatio { get; private set; }

    /// <summary>When the last cleanup run finished; null when none is recorded (or the table is at schema version 1).</summary>
    public DateTimeOffset? LastCleanupFinishedAt { get; private set; }

    /// <summary>Rows the last cleanup run deleted.</summary>
    public long? LastCleanupRowsDeleted { get; private set; }

    /// <summary>How long the last cleanup run took.</summary>
    public TimeSpan? LastCleanupDuration { get; private set; }

    /// <summary>Collects the statistics of every configured store.</summary>
    /// <param name="options">The same options the application's <c>AddDualWriteSessionStore</c> reads.</param>
    /// <param name="cancellationToken">Stops the collection: the call returns at once, even while a server is hung.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="InvalidOperationException">Neither store is configured.</exception>
    public static Task<StorageStatistics> CollectAsync(SessionStoreOptions options, CancellationToken cancellationToken = default) =>
        StoreDeadline.UntilCancelledAsync(t => CollectCoreAsync(options, t), cancellationToken);

    /// <summary>
    /// Whether a store can be counted. One configured but unusable (a bad table name, an unreadable Redis setting) is
    /// refused, naming it, rather than left out silently as if it were not configured.
    /// </summary>
    private static bool Usable(string section, bool namesConnection, IReadOnlyList<string> failures)
    {
        if (failures.Count > 0 && namesConnection)
        {
            throw new ArgumentException($"{SessionStoreOptions.SectionName}:{section}: {string.Join(" ", failures)}", "options");
        }

        return failures.Count == 0;
    }

    private static async Task<StorageStatistics> CollectCoreAsync(SessionStoreOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var statistics = new StorageStatistics();
        var hasPostgres = Usable(nameof(SessionStoreOptions.Postgres), options.Postgres.NamesConnection, options.Postgres.Validate());
        var hasRedis = Usable(nameof(SessionStoreOptions.Redis), options.Redis.NamesConnection, options.Redis.Validate());
        if (!hasPostgres && !hasRedis)
        {
            throw new InvalidOperationException("Neither SessionStore:Postgres:ConnectionString nor SessionStore:Redis:Configuration is set.");
        }

        if (hasRedis)
        {
            var source = await RedisSource.ConnectAsync(options.Redis, cancellationToken).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                statistics.RedisLiveSessions = await source.CountAsync(null, cancellationToken).ConfigureAwait(false);
            }
        }

        if (hasPostgres)
        {
            using var cache = new PostgresSessionCache(options.Postgres);
            await statistics.CollectPostgresAsync(new PostgresTable(cache), cancellationToken).ConfigureAwait(false);
        }

        return statistics;
    }

    /// <summary>A relation and, when partitioned, every partition under it, as one column <c>relid</c>.</summary>
    private static string TreeOf(string relation) =>
        $"SELECT relid FROM pg_partition_tree({relation}) UNION SELECT ({relation})::regclass";

    private async Task CollectPostgresAsync(PostgresTable target, CancellationToken cancellationToken)
    {
        await target.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var table = target.Sql.Table;
        (PostgresLiveSessions, PostgresExpiredRows) = await target.CountAsync(cancellationToken).ConfigureAwait(false);

        // pg_partition_tree returns no rows for a plain table (PostgreSQL 15 and before), so the relation itself is
        // added; a partitioned table or index has no storage of its own, so counting it too adds 0 bytes.
        TableBytes = (await target.QueryAsync(
            $"SELECT coalesce(sum(pg_table_size(relid)), 0)::bigint FROM ({TreeOf("$1::regclass")}) t",
            r => r.GetInt64(0), cancellationToken, table).ConfigureAwait(false))[0];
        IndexBytes = (await target.QueryAsync($"""
            SELECT c.relname, (SELECT coalesce(sum(pg_relation_size(relid)), 0)::bigint FROM ({TreeOf("c.oid")}) t)
            FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
            WHERE x.indrelid = $1::regclass ORDER BY c.relname
            """, r => (Name: r.GetString(0), Bytes: r.GetInt64(1)), cancellationToken, table).ConfigureAwait(false)).ToDictionary(i => i.Name, i => i.Bytes);
        var (updates, hot) = (await target.QueryAsync($"""
            SELECT coalesce(sum(s.n_tup_upd), 0)::bigint, coalesce(sum(s.n_tup_hot_upd), 0)::bigint
            FROM pg_stat_user_tables s JOIN ({TreeOf("$1::regclass")}) t ON t.relid = s.relid
            """, r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken, table).ConfigureAwait(false))[0];
        Updates = updates;
        HotUpdateRatio = updates > 0 ? (double)hot / updates : null;

        try
        {
            var runs = await target.QueryAsync(
                $"SELECT finished_at, rows_deleted, duration FROM {target.Sql.LastCleanup}",
                r => (r.GetFieldValue<DateTimeOffset>(0), r.GetInt64(1), r.GetFieldValue<TimeSpan>(2)), cancellationToken).ConfigureAwait(false);
            if (runs.Count > 0)
            {
                (LastCleanupFinishedAt, LastCleanupRowsDeleted, LastCleanupDuration) = runs[0];
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
        }
    }
}
