using Npgsql;
using SessionStore.Internal;
using SessionStore.Postgres.Internal;

namespace SessionStore.Postgres;

/// <summary>
/// The write path: one statement per write (an upsert, a touch, a delete), in the configured commit mode.
/// Asynchronous writes that arrive while another has just started go together, as one batch of their statements
/// and one commit (<see cref="StatementBatcher{TRequest, TResult}"/>). A batch is one implicit transaction, so a
/// statement error in it rolls back every write it carried; each of them is then written again alone, for its own
/// outcome.
/// </summary>
public sealed partial class PostgresSessionCache
{
    /// <summary>
    /// The statement of a write: the version written, or null when the condition refused it. <paramref name="token"/>
    /// is the driver's (none when asynchronous: see <see cref="ExecuteAsync{TState, T}"/>); <paramref name="caller"/>
    /// only says whether to send it still.
    /// </summary>
    private async ValueTask<long?> WriteAsync(
        string key, ReadOnlyMemory<byte> value, string? userId, EntryExpiration expiration, WriteCondition condition, CallerWait caller, bool async, CancellationToken token)
    {
        // Inside the write's own time bound: against a hung server the first write waits one OperationTimeout, not two.
        await _clockSkew.CheckOnceAsync(async, token).ConfigureAwait(false);
        return await RunWriteAsync(
            key,
            (key, value, userId, expiration, condition),
            static (cache, s, buffers) => cache.CreateSetCommand(buffers, s.key, s.value, s.userId, s.expiration, s.condition, returning: null),
            new WriteKind(ReturnsRow: true, TakesKeyLock: true),
            caller,
            async,
            token).ConfigureAwait(false);
    }

    /// <summary>
    /// One write statement on <paramref name="key"/> that returns no row: a touch (due past
    /// <paramref name="touchThreshold"/>) or a delete, for <paramref name="caller"/> (a read's touch: the read's).
    /// </summary>
    private ValueTask<long?> ExecuteWriteAsync(string sql, string key, double? touchThreshold, CallerWait caller, bool async, CancellationToken token) =>
        RunWriteAsync(
            key,
            (sql, key, touchThreshold),
            static (_, s, _) =>
            {
                var write = new NpgsqlBatchCommand(s.sql) { Parameters = { new NpgsqlParameter<string> { TypedValue = s.key } } };
                if (s.touchThreshold is { } threshold)
                {
                    write.Parameters.Add(new NpgsqlParameter<double> { TypedValue = threshold });
                }

                return write;
            },
            new WriteKind(ReturnsRow: false, TakesKeyLock: false),
            caller,
            async,
            token);

    /// <summary>
    /// Runs one write statement on <paramref name="key"/>, made by <paramref name="create"/>, in the configured
    /// commit mode: with the writes queued at the same moment when there are, else alone. Returns the version the
    /// statement returned, or null when it returned no row (a refused condition, a touch, a delete). A write whose
    /// <paramref name="caller"/> has stopped waiting by the time it could be sent is not sent.
    /// </summary>
    private async ValueTask<long?> RunWriteAsync<TState>(
        string key, TState state, Func<PostgresSessionCache, TState, PooledBuffers, NpgsqlBatchCommand> create, WriteKind kind, CallerWait caller, bool async, CancellationToken token)
    {
        StatementBatcher<Write, WriteOutcome>.Lease lease = default;
        if (async && _writeBatcher is not null && !_writeBatcher.TryGoAlone(out lease))
        {
            // Made here, by each caller, not one after another by the batch: a batch's statement waits for no JSON
            // encoding. The buffers are given back once the batch ran: its result is what this method waits for.
            using var buffers = new PooledBuffers();
            var write = new Write(key, create(this, state, buffers), kind.ReturnsRow, caller);
            if (await _writeBatcher.GoTogetherAsync(write, caller.StartedAt, caller.Token).ConfigureAwait(false) is { Done: true } outcome)
            {
                return outcome.Version;
            }

            // Rolled back, or not sent. Its caller has stopped waiting, and may have written the session again since:
            // sent now, this write could overwrite a newer one.
            if (HasStoppedWaiting(caller))
            {
                throw StoreDeadline.NotSent(caller.Token);
            }
        }

        try
        {
            using var connection = await OpenForWritesAsync(async, caller.Token).ConfigureAwait(false);
            if (async && HasStoppedWaiting(caller))
            {
                throw StoreDeadline.NotSent(caller.Token);
            }

            using var batch = CreateBatch(connection, async);
            // Given back when this method ends, with the statement, even when the caller stopped waiting for it.
            using var buffers = new PooledBuffers();
            AddCommitMode(batch);
            if (kind.TakesKeyLock)
            {
                AddKeyLock(batch, key);
            }

            batch.BatchCommands.Add(create(this, state, buffers));

            // The write is the batch's last statement; a write returns a row, the version written, only when it landed.
            using var reader = async ? await batch.ExecuteReaderAsync(token).ConfigureAwait(false) : batch.ExecuteReader();
            for (var result = batch.BatchCommands.Count - 1; result > 0; result--)
            {
                _ = async ? await reader.NextResultAsync(token).ConfigureAwait(false) : reader.NextResult();
            }

            return (async ? await reader.ReadAsync(token).ConfigureAwait(false) : reader.Read()) ? reader.GetInt64(0) : null;
        }
        finally
        {
            if (async)
            {
                _writeBatcher?.Release(lease);
            }
        }
    }

    /// <summary>
    /// Writes coalesced by <see cref="StatementBatcher{TRequest, TResult}"/>: their statements in one batch, so one
    /// round trip and one commit; an outcome for each write, in order.
    /// </summary>
    private async Task<WriteOutcome[]> WriteManyAsync(Write[] writes)
    {
        var outcomes = new WriteOutcome[writes.Length];

        // Every batch locks its rows in key order, so two batches writing the same sessions wait for each other
        // rather than deadlock. The sort is stable: two writes of one key land in the order they were queued.
        var order = new int[writes.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) => string.CompareOrdinal(writes[a].Key, writes[b].Key) is var byKey and not 0 ? byKey : a.CompareTo(b));

        using var connection = await OpenForWritesAsync(async: true, CancellationToken.None).ConfigureAwait(false);

        // The connection may have taken long to come (a pool exhausted by a hung server): a write whose caller has
        // stopped waiting since is left out, not sent, and its caller's RunWriteAsync says so.
        order = Array.FindAll(order, i => !HasStoppedWaiting(writes[i].Caller));
        if (order.Length == 0)
        {
            return outcomes;
        }

        using var batch = CreateBatch(connection, async: true);
        AddCommitMode(batch);
        var skipped = batch.BatchCommands.Count;
        foreach (var i in order)
        {
            batch.BatchCommands.Add(writes[i].Command);
        }

        try
        {
            using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
            for (var result = 0; result < skipped; result++)
            {
                _ = await reader.NextResultAsync().ConfigureAwait(false);
            }

            // Npgsql's reader skips the statements that return no rows (a touch, a delete): only a write that
            // returns a row (or no row, but a row description) has a result of its own to move past.
            foreach (var i in order)
            {
                long? version = null;
                if (writes[i].ReturnsRow)
                {
                    version = await reader.ReadAsync().ConfigureAwait(false) ? reader.GetInt64(0) : null;
                    _ = await reader.NextResultAsync().ConfigureAwait(false);
                }

                outcomes[i] = new WriteOutcome(Done: true, version);
            }

            // To the end of the batch: an error in a last statement that returns no rows is raised here, not lost.
            while (await reader.NextResultAsync().ConfigureAwait(false))
            {
            }
        }
        catch (PostgresException e) when (e.InvariantSeverity == "ERROR" && !EveryWriteWouldFail(e.SqlState))
        {
            // An error (not a lost session) aborted the batch's implicit transaction: nothing in it was written.
            // One write's fault (a deadlock, a lock or statement timeout on its row, a value or a trigger the server
            // refuses) must not be the others' failure: each goes again alone.
            Interlocked.Increment(ref _rolledBackWriteBatches);
            Array.Clear(outcomes);
        }

        return outcomes;
    }

    /// <summary>
    /// Errors that every write would meet alone as well: the table or a column missing or of another type, no
    /// permission (class 42), a server out of resources (53), past a limit (54), failing (58, XX). They fail the
    /// batch's writes at once, each explained as for a write alone, rather than as a burst of retries.
    /// </summary>
    private static bool EveryWriteWouldFail(string sqlState) => sqlState[..2] is "42" or "53" or "54" or "58" or "XX";

    /// <summary>
    /// A pooled connection for writes, opened before a write is sent rather than by the batch itself: waiting for one
    /// (a pool held by a hung server) can outlast the caller's wait, and a write whose caller has stopped waiting
    /// by then must not be sent.
    /// </summary>
    private async ValueTask<NpgsqlConnection> OpenForWritesAsync(bool async, CancellationToken token)
    {
        if (!_schemaReady)
        {
            await EnsureSchemaAsync(async, token).ConfigureAwait(false);
        }

        return async ? await _statements.OpenConnectionAsync(token).ConfigureAwait(false) : _statements.OpenConnection();
    }

    /// <summary>
    /// The caller's wait, started now: taken once per call, before its statement runs, so that a statement run again
    /// (a partitioned table's retry) still counts from the call's start.
    /// </summary>
    private CallerWait CallerStartsWaiting(CancellationToken token) => new(_time.GetTimestamp(), token);

    /// <summary>A batch on <paramref name="connection"/>, with the driver timeout the call's mode takes (<see cref="DriverTimeout"/>).</summary>
    private NpgsqlBatch CreateBatch(NpgsqlConnection connection, bool async)
    {
        var batch = connection.CreateBatch();
        batch.Timeout = DriverTimeout(async);
        return batch;
    }

    /// <summary>
    /// Whether the caller has stopped waiting, on the cache's clock. <see cref="StoreDeadline"/> waits on the system
    /// clock: the two agree unless a test gives the cache a clock of its own.
    /// </summary>
    private bool HasStoppedWaiting(CallerWait caller) => StoreDeadline.HasStoppedWaiting(_time, caller.StartedAt, _options.OperationTimeout, caller.Token);

    /// <summary>
    /// When a write's caller started waiting for it (a <see cref="TimeProvider"/> timestamp), and its token: past
    /// <see cref="SessionCacheProviderOptions.OperationTimeout"/> from then, or once the token is cancelled, the write is not sent.
    /// </summary>
    private readonly record struct CallerWait(long StartedAt, CancellationToken Token);

    /// <summary>A write waiting to go with others: its key, its statement, ready to join a batch, whether that returns a row, and its caller.</summary>
    private readonly record struct Write(string Key, NpgsqlBatchCommand Command, bool ReturnsRow, CallerWait Caller);

    /// <summary>
    /// Whether a write's statement returns a row (the version written: an upsert), and whether it takes the key's
    /// lock first on a partitioned table (see <see cref="AddSetCommands"/>).
    /// </summary>
    private readonly record struct WriteKind(bool ReturnsRow, bool TakesKeyLock);

    /// <summary>
    /// A coalesced write's outcome: when <see cref="Done"/>, the version written (null when the condition refused
    /// it, and for a touch or a delete); otherwise it was not written (its batch was rolled back, or its caller had
    /// stopped waiting), and its caller writes it alone if it still waits.
    /// </summary>
    private readonly record struct WriteOutcome(bool Done, long? Version);
}
