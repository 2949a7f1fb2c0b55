using Npgsql;
using NpgsqlTypes;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Migration.Internal;

/// <summary>The session table as the migration tools see it: reads that never touch, counts and key listings.</summary>
internal sealed class PostgresTarget(PostgresCache cache)
{
    public PostgresCache Cache => cache;

    public PostgresSql Sql => cache.Sql;

    public NpgsqlDataSource DataSource => cache.DataSource;

    /// <summary>Creates the table when the options ask for it, else fails with what to run when it is missing.</summary>
    public async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        await cache.EnsureSchemaReadyAsync(cancellationToken).ConfigureAwait(false);
        using var command = DataSource.CreateCommand("SELECT to_regclass($1) IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Sql.Table });
        if (!(bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
        {
            throw new InvalidOperationException(
                $"The session table {Sql.DisplayName} does not exist. Create it first: `sessionstore migrate`, or PostgresSchemaMigrator.MigrateAsync().");
        }
    }

    /// <summary>The live entries of <paramref name="keys"/>, in their order; null where there is none.</summary>
    public async Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, StoredEntry>(keys.Count, StringComparer.Ordinal);
        using (var command = DataSource.CreateCommand(Sql.ReadMany))
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys.ToArray() });
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Decoded by the cache itself, so jsonb and bytea tables read alike and no second codec drifts.
                cache.ThrowIfPayloadTypeDiffers(reader, 1);
                var key = reader.GetString(0);
                if (cache.DecodePayload(key, reader.GetFieldValue<byte[]>(1)) is not { } value)
                {
                    continue;
                }

                found[key] = new StoredEntry(
                    value,
                    new ExpiryState(PostgresCache.ReadInterval(reader, 2), PostgresCache.ReadInterval(reader, 3), PostgresCache.ReadInterval(reader, 4)));
            }
        }

        return keys.Select(key => found.GetValueOrDefault(key)).ToArray();
    }

    /// <summary>Rows whose session is live, and expired rows not yet cleaned up.</summary>
    public async Task<(long Live, long Expired)> CountAsync(CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(Sql.CountRows, r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        return rows[0];
    }

    /// <summary>Up to <paramref name="count"/> live keys, chosen at random.</summary>
    public Task<List<string>> SampleKeysAsync(int count, CancellationToken cancellationToken) =>
        QueryAsync(Sql.SampleLiveKeys, r => r.GetString(0), cancellationToken, count);

    /// <summary>Every live key, in pages of <paramref name="pageSize"/>.</summary>
    public async IAsyncEnumerable<List<string>> AllKeysAsync(int pageSize, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = "";
        while (true)
        {
            var page = await QueryAsync(Sql.LiveKeysAfter, r => r.GetString(0), cancellationToken, after, pageSize).ConfigureAwait(false);
            if (page.Count > 0)
            {
                yield return page;
            }

            if (page.Count < pageSize)
            {
                yield break;
            }

            after = page[^1];
        }
    }

    /// <summary>Deletes each (key, row version) pair in one batch; returns how many rows went.</summary>
    public async Task<int> DeleteVersionsAsync(IReadOnlyList<(string Key, uint Version)> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return 0;
        }

        using var batch = DataSource.CreateBatch();
        foreach (var (key, version) in rows)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(Sql.DeleteVersion)
            {
                Parameters =
                {
                    new NpgsqlParameter<string> { TypedValue = key },
                    new NpgsqlParameter<uint> { NpgsqlDbType = NpgsqlDbType.Xid, TypedValue = version },
                },
            });
        }

        return await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object[] parameters)
    {
        var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await PostgresCommand.QueryAsync(connection, sql, read, async: true, cancellationToken, parameters).ConfigureAwait(false);
        }
    }
}
