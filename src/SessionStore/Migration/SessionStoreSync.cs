using SessionStore.DualWrite.Internal;
using SessionStore.Migration.Internal;
using SessionStore.Postgres;
using SessionStore.Redis;

namespace SessionStore.Migration;

/// <summary>
/// Brings the secondary store of a dual phase up to the primary: copies each session the secondary lacks or holds
/// older (another value or lifetime) from the primary — Redis in <see cref="SessionStorePhase.DualWriteRedisPrimary"/>,
/// PostgreSQL in <see cref="SessionStorePhase.DualWritePostgresPrimary"/>. The remedy when the secondary lost
/// sessions (Redis restarted empty, a long outage): run it, then <see cref="SessionStoreVerifier"/>.
/// </summary>
/// <remarks>
/// The same copier as <see cref="RedisToPostgresBackfill"/>, in either direction: batched, resumable from a
/// checkpoint, rate-limited. Every write is conditional — a missing session is written only while still missing, an
/// older one only while the secondary still holds what was read — so a write the application makes meanwhile is
/// never overwritten; and a session removed from the primary while it was copied is taken back from the secondary,
/// so a logged-out session never comes back. Writes go through the stores' own code: the PostgreSQL payload format,
/// the <c>RedisCache</c> format and the per-user index are those the application writes.
/// </remarks>
public sealed class SessionStoreSync
{
    private readonly SessionStoreOptions _options;
    private readonly Func<ICopySource, ICopySource> _decorateSource;

    /// <summary>Creates a sync between the stores of <paramref name="options"/>; its <see cref="SessionStoreOptions.Phase"/> names the primary.</summary>
    /// <param name="options">The same options the application's <c>AddDualWriteSessionStore</c> reads.</param>
    public SessionStoreSync(SessionStoreOptions options)
        : this(options, source => source)
    {
    }

    /// <summary>Creates a sync whose primary is read through <paramref name="decorateSource"/>'s wrapper (instrumentation, or interleaving a write).</summary>
    internal SessionStoreSync(SessionStoreOptions options, Func<ICopySource, ICopySource> decorateSource)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(decorateSource);
        _options = options;
        _decorateSource = decorateSource;
    }

    /// <summary>Runs the sync to the end of the primary's sessions, or until cancelled.</summary>
    /// <param name="options">Batch size, rate limit and checkpoint.</param>
    /// <param name="progress">Receives the counts after each page.</param>
    /// <param name="cancellationToken">Stops the run once the batch in progress is done; the checkpoint then holds the last completed page.</param>
    /// <returns>The counts of the whole sync, including the runs it resumed.</returns>
    /// <exception cref="InvalidOperationException">The phase is not a dual phase: there is no secondary to bring up.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public async Task<BackfillProgress> RunAsync(BackfillOptions options, IProgress<BackfillProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        if (_options.Phase == SessionStorePhase.Unspecified || PhaseRoles.Of(_options.Phase).Secondary is null)
        {
            throw new InvalidOperationException(
                $"Sync copies from the primary to the secondary of a dual phase; phase {_options.Phase} has no secondary. " +
                "Set the phase the application runs (DualWriteRedisPrimary or DualWritePostgresPrimary); before the first dual phase, use the backfill.");
        }

        _options.ApplyUserIdSessionKey();
        using var cache = new PostgresSessionCache(_options.Postgres);
        var table = new PostgresTable(cache);
        var redis = await RedisSource.ConnectAsync(_options.Redis, cancellationToken).ConfigureAwait(false);
        await using (redis.ConfigureAwait(false))
        {
            using var redisCache = new RedisSessionCache(_options.Redis);
            var (source, target) = PhaseRoles.PostgresIsPrimary(_options.Phase)
                ? ((ICopySource)table, (ICopyTarget)new RedisTarget(redisCache, redis))
                : (redis, table);
            var copier = new SessionCopier(_decorateSource(source), target, options, replaceOlder: true, _options.ExpiryTolerance);
            return await copier.RunAsync(progress, cancellationToken).ConfigureAwait(false);
        }
    }
}
