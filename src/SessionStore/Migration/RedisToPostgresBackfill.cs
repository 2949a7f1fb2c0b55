using System.Diagnostics;
using Npgsql;
using SessionStore.Internal;
using SessionStore.Migration.Internal;
using SessionStore.Postgres;
using StackExchange.Redis;

namespace SessionStore.Migration;

/// <summary>
/// Copies every live session from Redis (entries in Microsoft's <c>RedisCache</c> format under the configured
/// <c>InstanceName</c>) into the PostgreSQL session table, each with the lifetime it has left. Safe to run while
/// the application writes both stores: a row PostgreSQL already holds is never overwritten, and a session that
/// leaves Redis while it is being copied is deleted from PostgreSQL again.
/// </summary>
/// <remarks>
/// Work goes in batches: one SCAN page, one pipelined read of its entries from Redis, one batch of conditional
/// inserts in PostgreSQL, one pipelined existence check back in Redis. With a checkpoint file an interrupted run
/// resumes after the last completed batch; SCAN may return a key twice, which the conditional insert absorbs.
/// </remarks>
public sealed class RedisToPostgresBackfill
{
    private readonly SessionStoreOptions _options;

    /// <summary>Creates a backfill between the stores of <paramref name="options"/> (its <c>Postgres</c> and <c>Redis</c> sections).</summary>
    /// <param name="options">The same options the application's <c>AddDualWriteSessionStore</c> reads.</param>
    public RedisToPostgresBackfill(SessionStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>Called with the keys just copied, before Redis is checked again; lets tests delete a source in that window.</summary>
    internal Func<IReadOnlyList<string>, Task>? AfterCopyForTesting { get; set; }

    /// <summary>Runs the backfill to the end of the SCAN, or until cancelled.</summary>
    /// <param name="options">Batch size, rate limit and checkpoint.</param>
    /// <param name="progress">Receives the counts after each batch.</param>
    /// <param name="cancellationToken">Stops the run once the batch in progress is done; the checkpoint then holds the last completed page.</param>
    /// <returns>The counts of the whole backfill, including the runs it resumed.</returns>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public async Task<BackfillProgress> RunAsync(BackfillOptions options, IProgress<BackfillProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        _options.ApplyUserIdSessionKey();
        using var cache = new PostgresCache(_options.Postgres);
        var target = new PostgresTarget(cache);
        var source = await RedisSource.ConnectAsync(_options.Redis, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            await target.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
            var checkpoint = options.CheckpointPath is { } path && !options.Restart
                ? BackfillCheckpoint.Load(path, source.Description, cache.Sql.DisplayName)
                : null;
            var run = new Run(this, options, source, target, checkpoint, progress);
            run.EstimatedTotal = await source.DatabaseSizeAsync().ConfigureAwait(false);
            return await run.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class Run(RedisToPostgresBackfill owner, BackfillOptions options, RedisSource source, PostgresTarget target, BackfillCheckpoint? resumed, IProgress<BackfillProgress>? progress)
    {
        private readonly BackfillCheckpoint _state = resumed ?? new BackfillCheckpoint { Source = source.Description, Target = target.Sql.DisplayName };
        private readonly BackfillProgress _totals = resumed?.Totals ?? new BackfillProgress();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly int _chunk = options.RatePerSecond is { } rate ? (int)Math.Clamp(rate, 1, options.BatchSize) : options.BatchSize;
        private long _processedThisRun;

        public long EstimatedTotal { get; set; }

        public async Task<BackfillProgress> ExecuteAsync(CancellationToken cancellationToken)
        {
            foreach (var server in source.Primaries)
            {
                var name = server.EndPoint.ToString()!;
                if (_state.FinishedServers.Contains(name))
                {
                    continue;
                }

                var cursor = _state.Server == name ? _state.Cursor : 0;
                do
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    (cursor, var keys) = await source.ScanAsync(server, cursor, options.BatchSize).ConfigureAwait(false);
                    foreach (var chunk in keys.Chunk(_chunk))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        await CopyAsync(chunk).ConfigureAwait(false);
                        await ThrottleAsync(chunk.Length, cancellationToken).ConfigureAwait(false);
                    }

                    // Saved only once the whole page is in: resuming repeats at most the page that was interrupted.
                    (_state.Server, _state.Cursor) = (name, cursor);
                    await SaveAsync().ConfigureAwait(false);
                    progress?.Report(Snapshot(completed: false));
                }
                while (cursor != 0);

                _state.FinishedServers.Add(name);
                (_state.Server, _state.Cursor) = (null, 0);
                await SaveAsync().ConfigureAwait(false);
            }

            if (options.CheckpointPath is { } path)
            {
                File.Delete(path);
            }

            var result = Snapshot(completed: true);
            progress?.Report(result);
            return result;
        }

        /// <summary>
        /// Copies one batch. Never cancelled half-way: a batch stopped between its write and the check back in Redis
        /// could leave a logged-out session in PostgreSQL, so cancellation waits for the batch to finish.
        /// </summary>
        private async Task CopyAsync(string[] keys)
        {
            _totals.Scanned += keys.Length;
            var entries = await source.ReadAsync(keys).ConfigureAwait(false);
            var copies = new List<Copy>(keys.Length);
            for (var i = 0; i < keys.Length; i++)
            {
                if (entries[i]?.Expiry.ToEntryOptions() is not { } lifetime)
                {
                    _totals.Skipped++;
                }
                else if (keys[i].Length > PostgresCache.MaximumKeyLength)
                {
                    _totals.Errors++;
                }
                else
                {
                    copies.Add(new Copy(keys[i], entries[i]!.Value, EntryExpiration.From(lifetime, DateTimeOffset.UtcNow)));
                }
            }

            var written = await WriteAsync(copies).ConfigureAwait(false);
            _totals.AlreadyPresent += copies.Count - written.Count - copies.Count(c => c.Failed);
            _totals.Errors += copies.Count(c => c.Failed);
            if (written.Count == 0)
            {
                return;
            }

            if (owner.AfterCopyForTesting is { } hook)
            {
                await hook(written.ConvertAll(w => w.Key)).ConfigureAwait(false);
            }

            // A session deleted in Redis after it was read (a logout, with the application deleting in Redis first and
            // PostgreSQL second) may have been inserted after the application's PostgreSQL delete: take the copy back.
            var exists = await source.ExistAsync(written.ConvertAll(w => w.Key)).ConfigureAwait(false);
            var gone = written.Where((_, i) => !exists[i]).ToList();
            await target.DeleteVersionsAsync(gone, CancellationToken.None).ConfigureAwait(false);
            _totals.ResurrectionsAvoided += gone.Count;
            _totals.Copied += written.Count - gone.Count;
        }

        /// <summary>Inserts where no live row exists; returns the rows written, with the row version each write made.</summary>
        private async Task<List<(string Key, uint Version)>> WriteAsync(List<Copy> copies)
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
                var written = new List<(string Key, uint Version)>();
                foreach (var copy in copies)
                {
                    try
                    {
                        written.AddRange(await WriteBatchAsync([copy]).ConfigureAwait(false));
                    }
                    catch (PostgresException)
                    {
                        copy.Failed = true;
                    }
                }

                return written;
            }
        }

        private async Task<List<(string Key, uint Version)>> WriteBatchAsync(List<Copy> copies)
        {
            using var batch = target.DataSource.CreateBatch();
            var writes = copies.Select(c => target.Cache.AddSetCommands(batch, c.Key, c.Value, target.Cache.UserIdOf(c.Value), c.Expiration, WriteCondition.WhenAbsent, "\nRETURNING xmin")).ToHashSet();
            var written = new List<(string Key, uint Version)>();
            using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
            var index = 0;
            var copy = 0;
            do
            {
                if (writes.Contains(batch.BatchCommands[index]))
                {
                    if (await reader.ReadAsync().ConfigureAwait(false))
                    {
                        written.Add((copies[copy].Key, reader.GetFieldValue<uint>(0)));
                    }

                    copy++;
                }

                index++;
            }
            while (await reader.NextResultAsync().ConfigureAwait(false));

            return written;
        }

        private async Task ThrottleAsync(int processed, CancellationToken cancellationToken)
        {
            _processedThisRun += processed;
            if (options.RatePerSecond is { } rate)
            {
                var due = TimeSpan.FromSeconds(_processedThisRun / rate) - _clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private Task SaveAsync()
        {
            _state.Totals = _totals;
            return options.CheckpointPath is { } path ? _state.SaveAsync(path, CancellationToken.None) : Task.CompletedTask;
        }

        private BackfillProgress Snapshot(bool completed)
        {
            _totals.EstimatedTotal = Math.Max(EstimatedTotal, _totals.Scanned);
            _totals.Resumed = resumed is not null;
            _totals.Completed = completed;
            _totals.Elapsed = _clock.Elapsed;
            return _totals.Snapshot();
        }
    }

    private sealed record Copy(string Key, byte[] Value, EntryExpiration Expiration)
    {
        public bool Failed { get; set; }
    }
}
