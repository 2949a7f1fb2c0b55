using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.Cleanup.Internal;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Cleanup;

/// <summary>
/// Deletes the expired rows of a <see cref="PostgresSessionCache"/>'s table in short batches, one instance of a fleet at
/// a time; on a partitioned table it drops partitions whose rows have all expired and creates the ones ahead.
/// The hosted service registered by <c>AddPostgresSessionCleanup</c> calls <see cref="RunOnceAsync"/> on a
/// schedule; call it yourself to clean up on demand.
/// </summary>
public sealed partial class PostgresSessionCleaner
{
    private readonly PostgresSessionCache _cache;
    private readonly Func<PostgresCleanupOptions> _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CleanupMetrics _metrics;

    /// <summary>Creates a cleaner with fixed options, no logging and no meter factory (metrics go to a shared meter).</summary>
    /// <param name="cache">The cache whose table, data source and layout the cleaner uses.</param>
    /// <param name="options">The cleanup options; validated at each run.</param>
    public PostgresSessionCleaner(PostgresSessionCache cache, PostgresCleanupOptions options)
        : this(cache, Fixed(options), NullLogger.Instance, TimeProvider.System, meterFactory: null)
    {
    }

    /// <summary>Creates a cleaner whose options are read again at every run.</summary>
    /// <param name="cache">The cache whose table, data source and layout the cleaner uses.</param>
    /// <param name="options">The cleanup options; the current value is validated at each run.</param>
    /// <param name="logger">Receives one line per run, and the reason a run was skipped or failed.</param>
    /// <param name="timeProvider">Measures the run time and the pauses between batches.</param>
    /// <param name="meterFactory">Creates the <see cref="SessionStoreMetrics.MeterName"/> meter; null uses a shared one.</param>
    public PostgresSessionCleaner(PostgresSessionCache cache, IOptionsMonitor<PostgresCleanupOptions> options, ILogger<PostgresSessionCleaner> logger, TimeProvider timeProvider, IMeterFactory? meterFactory)
        : this(cache, Current(options), logger, timeProvider, meterFactory)
    {
    }

    private PostgresSessionCleaner(PostgresSessionCache cache, Func<PostgresCleanupOptions> options, ILogger logger, TimeProvider timeProvider, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _cache = cache;
        _options = options;
        _logger = logger;
        _time = timeProvider;
        _metrics = new CleanupMetrics(meterFactory, cache.Sql.DisplayName);
    }

    /// <summary>
    /// Runs one cleanup pass now, unless another instance is cleaning the same table. Cancelling stops it between
    /// or during batches: the call returns at once, and the batch in progress is rolled back behind it (against a
    /// hung server, once its connection breaks). Each step is waited for at most its bound, past which the run fails
    /// with a <see cref="SessionStoreTimeoutException"/> naming the step: a batch or partition maintenance
    /// <see cref="PostgresCleanupOptions.StatementTimeout"/> plus the cache's
    /// <see cref="SessionCacheProviderOptions.OperationTimeout"/>, any other statement the latter.
    /// </summary>
    /// <param name="cancellationToken">Stops the run: the call returns at once, even while the server is hung.</param>
    /// <returns>What the run did.</returns>
    /// <exception cref="OptionsValidationException">The current options are invalid.</exception>
    /// <exception cref="SessionStoreTimeoutException">A step of the run outlasted its bound: PostgreSQL is hung or overloaded.</exception>
    public Task<PostgresCleanupResult> RunOnceAsync(CancellationToken cancellationToken = default) =>
        StoreDeadline.UntilCancelledAsync(RunOnceCoreAsync, cancellationToken);

    private async Task<PostgresCleanupResult> RunOnceCoreAsync(CancellationToken cancellationToken)
    {
        var options = _options();
        if (options.Validate() is { Count: > 0 } failures)
        {
            throw new OptionsValidationException(nameof(PostgresCleanupOptions), typeof(PostgresCleanupOptions), failures);
        }

        var sql = _cache.Sql;
        var started = _time.GetTimestamp();
        // A session-level lock, held across the batch transactions and released as the connection is disposed.
        var lockKey = "sessionstore.cleanup:" + sql.Table;
        CleanupConnection? connection = null;
        bool locked;
        try
        {
            connection = await CleanupConnection.OpenAsync(_cache, lockKey, cancellationToken).ConfigureAwait(false);
            locked = await connection.TryLockAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Most often PostgreSQL is unreachable: worth a warning at each run, not a stack trace at error level.
                LogCouldNotStart(sql.DisplayName, e.Message, e);
                _metrics.Run("failed", _time.GetElapsedTime(started));
                _metrics.Failed(e);
            }

            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        await using (connection.ConfigureAwait(false))
        {
            if (!locked)
            {
                LogSkippedLocked(sql.DisplayName);
                _metrics.Run("skipped_locked");
                return new PostgresCleanupResult(skippedBecauseLocked: true, 0, 0, 0, 0, reachedMaximumRunTime: false, _time.GetElapsedTime(started));
            }

            try
            {
                var result = await CleanAsync(connection, sql, options, started, cancellationToken).ConfigureAwait(false);
                await RecordAsync(connection, sql, result, cancellationToken).ConfigureAwait(false);
                LogRunCompleted(sql.DisplayName, result.RowsDeleted, result.Batches, result.PartitionsCreated, result.PartitionsDropped, result.Duration.TotalMilliseconds, result.ReachedMaximumRunTime);
                _metrics.Run("completed", result.Duration);
                return result;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _metrics.Run("cancelled", _time.GetElapsedTime(started));
                throw;
            }
            catch (Exception e)
            {
                LogRunFailed(sql.DisplayName, e);
                _metrics.Run("failed", _time.GetElapsedTime(started));
                _metrics.Failed(e);
                throw;
            }
        }
    }

    private async Task<PostgresCleanupResult> CleanAsync(CleanupConnection connection, PostgresSql sql, PostgresCleanupOptions options, long started, CancellationToken cancellationToken)
    {
        var (created, dropped) = sql.Partitioned
            ? await MaintainPartitionsAsync(connection, sql, options, cancellationToken).ConfigureAwait(false)
            : (0, 0);

        long rows = 0;
        var batches = 0;
        var reachedMaximumRunTime = false;
        while (true)
        {
            var (selected, deleted) = await connection.RunInTransactionAsync(
                "cleanup batch", options.StatementTimeout, [],
                async (c, commandTimeout, t) => (await PostgresCommand.QueryAsync(c, commandTimeout, sql.DeleteExpiredBatch, r => (Selected: r.GetInt64(0), Deleted: r.GetInt64(1)), async: true, t, options.BatchSize).ConfigureAwait(false))[0],
                cancellationToken).ConfigureAwait(false);
            batches++;
            rows += deleted;
            _metrics.BatchDeleted(deleted);

            // A short selection means nothing was left that was not locked by a writer; those wait for the next run.
            if (selected < options.BatchSize)
            {
                break;
            }

            if (_time.GetElapsedTime(started) + options.PauseBetweenBatches >= options.MaximumRunTime)
            {
                reachedMaximumRunTime = true;
                break;
            }

            if (options.PauseBetweenBatches > TimeSpan.Zero)
            {
                await Task.Delay(options.PauseBetweenBatches, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        return new PostgresCleanupResult(skippedBecauseLocked: false, rows, batches, created, dropped, reachedMaximumRunTime, _time.GetElapsedTime(started));
    }

    private async Task<(int Created, int Dropped)> MaintainPartitionsAsync(CleanupConnection connection, PostgresSql sql, PostgresCleanupOptions options, CancellationToken cancellationToken)
    {
        try
        {
            var counts = await connection.RunInTransactionAsync(
                "partition maintenance", options.StatementTimeout, [("lock_timeout", options.LockTimeout)],
                (c, commandTimeout, t) => PostgresPartitions.MaintainAsync(c, sql, _cache.Options.Partitioning!.Horizon, dropExpired: true, async: true, t, commandTimeout).AsTask(),
                cancellationToken).ConfigureAwait(false);
            _metrics.PartitionsDropped(counts.Dropped);
            return counts;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            // Writers go on using the partitions that exist, or the forever partition past the horizon.
            LogPartitionsPostponed(sql.DisplayName, options.LockTimeout.TotalMilliseconds);
            return (0, 0);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.QueryCanceled && !cancellationToken.IsCancellationRequested)
        {
            // The statement timeout came first (a LockTimeout at least as long, or a slow server): the same as above,
            // rather than a failed run whose batches never start while a long query holds the table.
            LogPartitionsPostponedByStatementTimeout(sql.DisplayName, options.StatementTimeout.TotalMilliseconds);
            return (0, 0);
        }
    }

    /// <summary>Records the run for <c>sessionstore stats</c>; a table still at schema version 1 has nowhere to record it.</summary>
    private static Task<bool> RecordAsync(CleanupConnection connection, PostgresSql sql, PostgresCleanupResult result, CancellationToken cancellationToken) =>
        connection.RunAsync("cleanup record", async (c, t) =>
        {
            try
            {
                await PostgresCommand.ScalarAsync(c, sql.RecordCleanup, async: true, t, result.RowsDeleted, result.PartitionsDropped, result.Duration).ConfigureAwait(false);
                return true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                return false;
            }
        }, cancellationToken);

    private static Func<PostgresCleanupOptions> Fixed(PostgresCleanupOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return () => options;
    }

    private static Func<PostgresCleanupOptions> Current(IOptionsMonitor<PostgresCleanupOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return () => options.CurrentValue;
    }
}
