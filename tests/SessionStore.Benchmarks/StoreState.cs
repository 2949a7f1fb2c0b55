using Npgsql;
using StackExchange.Redis;

namespace SessionStore.Benchmarks;

/// <summary>
/// What a contender's PostgreSQL table held when a run started, and the dead row versions it held when the run
/// ended. Exact counts from <c>pgstattuple</c>, not the statistics collector's estimates; sizes in bytes.
/// </summary>
internal sealed record TableState(long LiveRows, long DeadRowsBefore, long DeadRowsAfter, long HeapBytes, long ToastBytes, long IndexBytes);

/// <summary>
/// Puts a contender's table and keys back into the stated state before each measured run: the seeded sessions
/// only, no dead row versions, freshly written files, each session's last touch spread evenly over the touch
/// threshold (as on a site in steady state, where some sessions fall due during the run), and a checkpoint just
/// taken, so that every run pays the same full-page images.
/// </summary>
internal static class StoreState
{
    public const string NewSessionPrefix = "new-";

    public static async Task ResetAsync(NpgsqlDataSource admin, Contender contender, double touchThreshold, IReadOnlyList<string> sessions, bool newSessionsWritten = true)
    {
        if (contender.Redis is { } redis)
        {
            // Scanning a Redis server's keys takes a while; only the new-session workload adds any.
            if (newSessionsWritten)
            {
                await DeleteNewSessionsAsync(redis);
            }

            await AgeRedisSessionsAsync(redis, sessions, touchThreshold);
        }

        if (contender.Table is not { } table)
        {
            return;
        }

        await ResetTableAsync(admin, table, touchThreshold);
    }

    /// <param name="ahead">
    /// How long the reset itself takes before the run starts (a large table's rewrite takes seconds): the touches
    /// are spread from that moment, so that the stated share of sessions is due when the run starts.
    /// </param>
    public static async Task ResetTableAsync(NpgsqlDataSource admin, string table, double touchThreshold, TimeSpan ahead = default)
    {
        var quoted = Quote(table);
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        await AdminCommands.ExecuteAsync(admin, $"DELETE FROM {quoted} WHERE sid LIKE '{NewSessionPrefix}%'");
        await AdminCommands.ExecuteAsync(admin, $"UPDATE {quoted} SET expire = now() + make_interval(secs => {ahead.TotalSeconds.ToString(invariant)}) + sliding_expiration - sliding_expiration * {touchThreshold.ToString(invariant)} * random()");
        await AdminCommands.ExecuteAsync(admin, $"VACUUM FULL {quoted}");
        await AdminCommands.ExecuteAsync(admin, $"ANALYZE {quoted}");
        await AdminCommands.ExecuteAsync(admin, "CHECKPOINT");
    }

    public static async Task<(long Live, long Dead, long Heap, long Toast, long Index)> MeasureAsync(NpgsqlDataSource admin, string table)
    {
        var quoted = Quote(table);
        await using var command = admin.CreateCommand($"""
            SELECT t.tuple_count, t.dead_tuple_count, pg_relation_size(c.oid),
                   coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0), pg_indexes_size(c.oid)
            FROM pgstattuple('{quoted}') AS t, pg_class AS c WHERE c.oid = '{quoted}'::regclass
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    /// <summary>
    /// Spreads each seeded session's last touch over the touch threshold, as the table's reset does: left alone,
    /// Redis keys age with the clock from seeding on, so that by a later round every session is due for its
    /// sliding touch at its first read, and a dual phase with Redis as primary pays a secondary touch on most reads.
    /// </summary>
    public static async Task AgeRedisSessionsAsync(RedisKeys redis, IReadOnlyList<string> sessions, double touchThreshold)
    {
        var window = WorkloadRunner.IdleTimeout.SlidingExpiration!.Value;
        var database = redis.Connection.GetDatabase();
        var batch = database.CreateBatch();
        var pending = new List<Task>(sessions.Count);
        foreach (var session in sessions)
        {
            var remaining = window - window * (touchThreshold * Random.Shared.NextDouble());
            pending.Add(batch.KeyExpireAsync(redis.Prefix + session, remaining));
        }

        batch.Execute();
        await Task.WhenAll(pending);
    }

    /// <summary>New sessions are the only keys a run adds; removing them leaves the seeded sessions.</summary>
    private static async Task DeleteNewSessionsAsync(RedisKeys redis)
    {
        var server = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);
        var database = redis.Connection.GetDatabase();
        var batch = new List<RedisKey>(1_000);
        await foreach (var key in server.KeysAsync(pattern: redis.Prefix + NewSessionPrefix + "*", pageSize: 1_000))
        {
            batch.Add(key);
            if (batch.Count == 1_000)
            {
                await database.KeyDeleteAsync([.. batch], CommandFlags.FireAndForget);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            await database.KeyDeleteAsync([.. batch]);
        }
    }

    private static string Quote(string table) => $"\"public\".\"{table}\"";
}
