using SessionStore.Migration.Internal;
using SessionStore.Postgres;

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
/// With a <c>UserIdSessionKey</c>, each session naming a user is also added to that user's index in Redis, which
/// sessions written by Microsoft's <c>RedisCache</c> lack: "log out everywhere" then finds them in Redis too.
/// </remarks>
public sealed class RedisToPostgresBackfill
{
    private readonly SessionStoreOptions _options;
    private readonly Func<ICopySource, ICopySource> _decorateSource;

    /// <summary>Creates a backfill between the stores of <paramref name="options"/> (its <c>Postgres</c> and <c>Redis</c> sections).</summary>
    /// <param name="options">The same options the application's <c>AddDualWriteSessionStore</c> reads.</param>
    public RedisToPostgresBackfill(SessionStoreOptions options)
        : this(options, source => source)
    {
    }

    /// <summary>Creates a backfill whose Redis source is read through <paramref name="decorateSource"/>'s wrapper (instrumentation, or interleaving a write).</summary>
    internal RedisToPostgresBackfill(SessionStoreOptions options, Func<ICopySource, ICopySource> decorateSource)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(decorateSource);
        _options = options;
        _decorateSource = decorateSource;
    }

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
        using var cache = new PostgresSessionCache(_options.Postgres);
        var source = await RedisSource.ConnectAsync(_options.Redis, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            var copier = new SessionCopier(_decorateSource(source), new PostgresTable(cache), options, replaceOlder: false, _options.ExpiryTolerance);
            return await copier.RunAsync(progress, cancellationToken).ConfigureAwait(false);
        }
    }
}
