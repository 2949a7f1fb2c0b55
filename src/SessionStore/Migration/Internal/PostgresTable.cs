using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Migration.Internal;

/// <summary>
/// The session table as the migration tools see it: reads that never touch, counts, key listings, and copies
/// written with the cache's own conditional writes. A copy source or target as the phase decides.
/// </summary>
internal sealed partial class PostgresTable(PostgresSessionCache cache) : ICopySource, ICopyTarget
{
    // A checkpoint must not hold a session id: a page's position keeps only the start of its last key, at most a
    // third of it, so resuming repeats the few keys that share that start (the conditional writes absorb them).
    private const int MaximumPositionLength = 12;

    public PostgresSessionCache Cache => cache;

    public PostgresSql Sql => cache.Sql;

    /// <summary>
    /// Names the table in checkpoints and their messages with its server and database: two databases may each hold a
    /// table of the same name, and a checkpoint of a copy into one, resumed against the other, skipped every session
    /// it had listed. Only the hosts, ports and database of the connection string: never its user or password.
    /// </summary>
    public string Description => $"{Server(new NpgsqlConnectionStringBuilder(DataSource.ConnectionString))} {Sql.DisplayName}";

    /// <summary>
    /// The hosts (each with its port, sorted: a multi-host list names the same servers in any order) and the database;
    /// a connection string naming no database connects to the one named after its user, which is not printed.
    /// </summary>
    internal static string Server(NpgsqlConnectionStringBuilder settings)
    {
        var hosts = (settings.Host ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(host => HasPort(host) ? host : $"{host}:{settings.Port}")
            .Order(StringComparer.Ordinal)
            .Distinct();
        return $"{string.Join(", ", hosts)}/{(string.IsNullOrEmpty(settings.Database) ? "(the user's default database)" : settings.Database)}";

        // host:port or [IPv6]:port; a bare IPv6 address holds colons but no port.
        static bool HasPort(string host) =>
            host.StartsWith('[') ? host.Contains("]:", StringComparison.Ordinal) : host.Count(c => c == ':') == 1;
    }

    public int MaximumKeyLength => PostgresSessionCache.MaximumKeyLength;

    /// <summary>
    /// A position this table wrote: the start of a key, at most <see cref="MaximumPositionLength"/> characters that
    /// PostgreSQL text can hold. An edited one failed the run as a server error (U+0000), or resumed past every key.
    /// </summary>
    public bool CanResumeFrom(string position) =>
        position.Length <= MaximumPositionLength && !position.Contains('\0', StringComparison.Ordinal) && CacheArguments.IndexOfInvalidUtf16(position) < 0;

    public NpgsqlDataSource DataSource => cache.DataSource;

    /// <summary>Creates the table when the options ask for it, else fails with what to run when it is missing.</summary>
    public Task EnsureReadyAsync(CancellationToken cancellationToken) => EnsureTableAsync(cancellationToken);

    /// <summary>Creates the table when the options ask for it, else fails with what to run when it is missing.</summary>
    public async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        await cache.EnsureSchemaReadyAsync(cancellationToken).ConfigureAwait(false);
        // The whole shape, not only that the table exists: a table of another shape failed mid-copy, each batch
        // counted as errors blamed on long keys.
        var (problem, reason) = await cache.DescribeTableAsync(cancellationToken).ConfigureAwait(false);
        if (problem == TableShapeProblem.Missing)
        {
            throw new InvalidOperationException(
                $"The session table {Sql.DisplayName} does not exist. Create it first: `sessionstore migrate`, or PostgresSchemaMigrator.MigrateAsync().");
        }

        if (problem != TableShapeProblem.None)
        {
            throw cache.UnfitTable(problem, reason);
        }
    }

    /// <summary>The live entries of <paramref name="keys"/>, in their order; null where there is none.</summary>
    public Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        BoundedAsync("copy read", t => ReadCoreAsync(keys, t), cancellationToken);

    private async Task<StoredEntry?[]> ReadCoreAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, StoredEntry>(keys.Count, StringComparer.Ordinal);
        using (var command = DataSource.CreateCommand(Sql.ReadMany))
        {
            // A key holding U+0000, which PostgreSQL text cannot hold, is in no row: sent, it failed the whole read
            // (22021), and a run of verify with it, blaming PostgreSQL. Left out, it reads as missing here.
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys.Where(key => !key.Contains('\0', StringComparison.Ordinal)).ToArray() });
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Decoded by the cache itself, so jsonb and bytea tables read alike and no second codec drifts.
                cache.ThrowIfPayloadTypeDiffers(reader, 1);
                var key = reader.GetString(0);
                if (cache.ReadPayload(key, reader, 1) is not { } value)
                {
                    continue;
                }

                found[key] = new StoredEntry(
                    value,
                    new ExpiryState(PostgresSessionCache.ReadInterval(reader, 2), PostgresSessionCache.ReadInterval(reader, 3), PostgresSessionCache.ReadInterval(reader, 4)))
                {
                    UserIdDiffers = cache.RecordedUserDiffers(reader.IsDBNull(5) ? null : reader.GetString(5), value),
                };
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
    public async IAsyncEnumerable<List<string>> AllKeysAsync(int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var page in PagesAsync(null, pageSize, cancellationToken).ConfigureAwait(false))
        {
            yield return (List<string>)page.Keys;
        }
    }

    public async Task<long> EstimateAsync(CancellationToken cancellationToken) => (await CountAsync(cancellationToken).ConfigureAwait(false)).Live;

    /// <summary>Live keys in key order, a page at a time: a full pass that never holds a long snapshot.</summary>
    public async IAsyncEnumerable<KeyPage> PagesAsync(string? position, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = position ?? "";
        while (true)
        {
            var page = await QueryAsync(Sql.LiveKeysAfter, r => r.GetString(0), cancellationToken, after, pageSize).ConfigureAwait(false);
            if (page.Count > 0)
            {
                after = page[^1];
                yield return new KeyPage(page, after[..Math.Min(after.Length / 3, MaximumPositionLength)]);
            }

            if (page.Count < pageSize)
            {
                yield break;
            }
        }
    }

    public async Task<bool[]> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        (await ReadAsync(keys, cancellationToken).ConfigureAwait(false)).Select(entry => entry is not null).ToArray();

    /// <summary>Inserts or replaces where each copy's condition holds, in one batch; on a refused row, one by one.</summary>
    public async Task<List<LandedCopy>> WriteAsync(IReadOnlyList<SessionCopy> copies)
    {
        if (copies.Count == 0)
        {
            return [];
        }

        try
        {
            return await WriteBatchAsync(copies).ConfigureAwait(false);
        }
        catch (PostgresException) when (copies.Count > 1)
        {
            // One bad row fails the whole batch: write them one by one to copy the others and count it.
            var landed = new List<LandedCopy>();
            foreach (var copy in copies)
            {
                try
                {
                    landed.AddRange(await WriteBatchAsync([copy]).ConfigureAwait(false));
                }
                catch (PostgresException)
                {
                    copy.Failed = true;
                }
            }

            return landed;
        }
        catch (PostgresException)
        {
            copies[0].Failed = true;
            return [];
        }
    }

    /// <summary>Deletes each copy's row only in the version the copy wrote: a write the application made since is kept.</summary>
    public Task TakeBackAsync(IReadOnlyList<LandedCopy> copies) =>
        BoundedAsync("copy take-back", t => DeleteVersionsAsync(copies.Select(c => (c.Copy.Key, c.Write)).ToList(), t), CancellationToken.None);

    /// <summary>Never cancelled half-way: the copier takes back what a batch wrote, so it must know what that was.</summary>
    private Task<List<LandedCopy>> WriteBatchAsync(IReadOnlyList<SessionCopy> copies) =>
        BoundedAsync("copy write", _ => WriteBatchCoreAsync(copies), CancellationToken.None);

    private async Task<List<LandedCopy>> WriteBatchCoreAsync(IReadOnlyList<SessionCopy> copies)
    {
        using var batch = DataSource.CreateBatch();
        using var buffers = new PooledBuffers();
        var writes = copies.Select(c => cache.AddSetCommands(
            batch, buffers, c.Key, c.Entry.Value, cache.UserIdOf(c.Entry.Value), EntryExpiration.From(c.Entry.Expiry.ToEntryOptions()!, DateTimeOffset.UtcNow), c.Condition,
            // A plain table's statements return the row version (xmin) written, aliased s except in the insert; a
            // partitioned table's return the version stamp (null: the statements' own RETURNING), for PostgreSQL
            // cannot return a system column from an insert into a partitioned table.
            Sql.Partitioned ? null : c.Condition.IfValue is null ? "\nRETURNING xmin" : "\nRETURNING s.xmin")).ToHashSet();
        var landed = new List<LandedCopy>();
        using var reader = await batch.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false);
        var index = 0;
        var copy = 0;
        do
        {
            if (writes.Contains(batch.BatchCommands[index]))
            {
                if (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    landed.Add(new LandedCopy(copies[copy], Sql.Partitioned ? (object)reader.GetInt64(0) : reader.GetFieldValue<uint>(0)));
                }

                copy++;
            }

            index++;
        }
        while (await reader.NextResultAsync(CancellationToken.None).ConfigureAwait(false));

        return landed;
    }

    /// <summary>
    /// Cuts each landed copy to the time its source had left when read, unless a later write replaced it: written
    /// with a fresh sliding window, a copy of a session idle for most of its window outlived it, and read-repair then
    /// signed its user in again after the source had expired it. A touch extends the copy as it does the source.
    /// </summary>
    public Task KeepTimeLeftAsync(IReadOnlyList<LandedCopy> copies) =>
        BoundedAsync("copy time left", t => RunOnVersionsAsync(
            Sql.CapExpiryOfVersion,
            copies.Where(c => c.Copy.Entry.Expiry.Remaining is not null).Select(c => (c.Copy.Key, c.Write, (object?)c.Copy.Entry.Expiry.Remaining)).ToList(),
            t), CancellationToken.None);

    /// <summary>Deletes each (key, row version) pair in one batch, a version as a write returned it; returns how many rows went.</summary>
    public Task<int> DeleteVersionsAsync(IReadOnlyList<(string Key, object Version)> rows, CancellationToken cancellationToken) =>
        RunOnVersionsAsync(Sql.DeleteVersion, rows.Select(r => (r.Key, r.Version, (object?)null)).ToList(), cancellationToken);

    /// <summary>Runs <paramref name="sql"/> once per (key, row version, optional third parameter) in one batch; returns the rows it changed.</summary>
    private async Task<int> RunOnVersionsAsync(string sql, IReadOnlyList<(string Key, object Version, object? Value)> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return 0;
        }

        using var batch = DataSource.CreateBatch();
        foreach (var (key, version, value) in rows)
        {
            var command = new NpgsqlBatchCommand(sql)
            {
                Parameters =
                {
                    new NpgsqlParameter<string> { TypedValue = key },
                    version is uint xmin ? new NpgsqlParameter<uint> { NpgsqlDbType = NpgsqlDbType.Xid, TypedValue = xmin } : new NpgsqlParameter<long> { TypedValue = (long)version },
                },
            };
            if (value is TimeSpan duration)
            {
                command.Parameters.Add(new NpgsqlParameter<TimeSpan> { NpgsqlDbType = NpgsqlDbType.Interval, TypedValue = duration });
            }

            batch.BatchCommands.Add(command);
        }

        return await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object[] parameters) =>
        BoundedAsync("query", t => QueryCoreAsync(sql, read, t, parameters), cancellationToken);

    private async Task<List<T>> QueryCoreAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, object[] parameters)
    {
        var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await PostgresCommand.QueryAsync(connection, sql, read, async: true, cancellationToken, parameters).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits for a statement at most <see cref="SessionCacheProviderOptions.OperationTimeout"/>, then abandons it
    /// (<see cref="StoreDeadline"/>). The driver's timeout alone took three times that against a hung server: Npgsql
    /// then sends a cancel request on a new connection and waits the connection Timeout for the hung postmaster (its
    /// SSL request, or with SslMode=Disable the request itself), and with its default GssEncryptionMode=Prefer opens
    /// that connection once more, waiting again, before it breaks the statement's connection. The abandoned statement
    /// still ends that way, in the background. Nothing is cancelled: a batch no longer waited for fails the run before
    /// its check back, as the driver's timeout did.
    /// </summary>
    private Task<T> BoundedAsync<T>(string operation, Func<CancellationToken, Task<T>> statement, CancellationToken cancellationToken) =>
        StoreDeadline.RunAsync("postgresql", operation, Sql.DisplayName, cache.Options.OperationTimeout, t => new ValueTask<T>(statement(t)), cancellationToken).AsTask();
}
