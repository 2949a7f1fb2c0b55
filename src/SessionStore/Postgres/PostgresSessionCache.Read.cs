using Npgsql;
using SessionStore.Internal;
using SessionStore.Postgres.Internal;

namespace SessionStore.Postgres;

/// <summary>
/// The read path, which every session request takes: a primary-key select on a pooled connection and command,
/// then, only when the read shows the sliding expiry due to move by more than
/// <see cref="SessionCacheProviderOptions.TouchThreshold"/> of its window, the touch. Most reads of a busy session
/// are not due, and a plain select is much cheaper for the server than an update that finds nothing to do. With a
/// threshold of 0 every read is due, so the read and touch go as one statement instead. Asynchronous reads that
/// arrive while another has just started go together in one statement (<see cref="StatementBatcher{TRequest, TResult}"/>).
/// </summary>
public sealed partial class PostgresSessionCache
{
    /// <summary>What a read returns: <see cref="ValueOnly"/> for <c>Get</c>, <see cref="WholeEntry"/> for the dual-write cache.</summary>
    private interface IReadResult<out T>
    {
        static abstract T From(in Row row);
    }

    private ValueTask<T?> ReadCoreAsync<TResult, T>(string key, bool async, CancellationToken token)
        where TResult : IReadResult<T>
        where T : class
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        return ExecuteAsync("get", (cache: this, key, caller: CallerStartsWaiting(token)), static (s, a, t) => s.cache.ReadAndTouchAsync<TResult, T>(s.key, s.caller, a, t), async, token);
    }

    // Every async method on this path allocates its own state machine on every read that waits for the server,
    // so the select, the touch and the result are one method, generic over the result rather than projected after.
    // The statements get token (none when asynchronous); caller only says whether to send them still.
    private async ValueTask<T?> ReadAndTouchAsync<TResult, T>(string key, CallerWait caller, bool async, CancellationToken token)
        where TResult : IReadResult<T>
        where T : class
    {
        var touchEveryRead = _options.TouchThreshold == 0;
        if (!_schemaReady)
        {
            await EnsureSchemaAsync(async, token).ConfigureAwait(false);
        }

        Row? found;
        StatementBatcher<string, Row?>.Lease lease = default;
        if (touchEveryRead)
        {
            found = await ReadAndTouchInOneAsync(key, async, token).ConfigureAwait(false);
        }
        else if (async && _readBatcher is not null && !_readBatcher.TryGoAlone(out lease))
        {
            found = await _readBatcher.GoTogetherAsync(key, caller.StartedAt, caller.Token).ConfigureAwait(false);
        }
        else
        {
            var read = _reads.Get();
            try
            {
                await read.OpenAsync(key, DriverTimeout(async), async, token).ConfigureAwait(false);
                using var reader = async ? await read.Command.ExecuteReaderAsync(token).ConfigureAwait(false) : read.Command.ExecuteReader();
                found = await ReadRowAsync(key, reader, async, token).ConfigureAwait(false);
            }
            finally
            {
                if (async)
                {
                    _readBatcher?.Release(lease);
                }

                _reads.Return(read);
            }
        }

        if (found is not { } row)
        {
            return null;
        }

        // The same rule as the touch statement's own condition, on the intervals the server just computed, so no
        // clocks are compared; the statement checks again, so a race with another touch only costs a no-op.
        if (!touchEveryRead && !row.Expiry.RefreshIsNoOp(TimeSpan.Zero, _options.TouchThreshold))
        {
            // Within the read's own time bound: the touch counts its caller's wait from the read's start.
            _ = await ExecuteWriteAsync(_sql.Refresh, key, _options.TouchThreshold, caller, async, token).ConfigureAwait(false);
            row = row with { Expiry = row.Expiry with { Remaining = row.Expiry.ExtendedAt(TimeSpan.Zero) } };
        }

        _recentReads.Record(key, row.Expiry);
        return TResult.From(row);
    }

    /// <summary>Reads coalesced by <see cref="StatementBatcher{TRequest, TResult}"/>, in one statement; a row (or null) for each key, in order.</summary>
    private async Task<Row?[]> ReadManyAsync(string[] keys)
    {
        var rows = new Row?[keys.Length];
        using var command = await CreateCommandAsync(_sql.GetMany, async: true, CancellationToken.None).ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys });
        using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            var key = reader.GetString(5);
            for (var i = 0; i < keys.Length; i++)
            {
                // A key read twice in one statement (two requests of one session) is decoded for each: no caller shares another's array.
                if (string.Equals(keys[i], key, StringComparison.Ordinal))
                {
                    rows[i] = ReadRow(key, reader);
                }
            }
        }

        return rows;
    }

    private async ValueTask<Row?> ReadAndTouchInOneAsync(string key, bool async, CancellationToken token)
    {
        using var command = await CreateCommandAsync(_sql.GetAndTouch, async, token).ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = 0 });
        using var reader = async ? await command.ExecuteReaderAsync(token).ConfigureAwait(false) : command.ExecuteReader();
        return await ReadRowAsync(key, reader, async, token).ConfigureAwait(false);
    }

    /// <summary>The row a read statement returned: null when there is none, or its payload cannot be decoded.</summary>
    private async ValueTask<Row?> ReadRowAsync(string key, NpgsqlDataReader reader, bool async, CancellationToken token)
    {
        if (!(async ? await reader.ReadAsync(token).ConfigureAwait(false) : reader.Read()))
        {
            return null;
        }

        return ReadRow(key, reader);
    }

    /// <summary>The row the reader is on (payload, expiry, version): null when its payload cannot be decoded.</summary>
    private Row? ReadRow(string key, NpgsqlDataReader reader)
    {
        ThrowIfPayloadTypeDiffers(reader, 0);
        return ReadPayload(key, reader, 0) is { } value
            ? new Row(value, new ExpiryState(ReadInterval(reader, 1), ReadInterval(reader, 2), ReadInterval(reader, 3)), reader.GetInt64(4))
            : null;
    }

    private readonly record struct Row(byte[] Value, ExpiryState Expiry, long Version);

    private readonly struct ValueOnly : IReadResult<byte[]>
    {
        public static byte[] From(in Row row) => row.Value;
    }

    private readonly struct WholeEntry : IReadResult<StoredEntry>
    {
        public static StoredEntry From(in Row row) => new(row.Value, row.Expiry, row.Version);
    }
}
