using Microsoft.Extensions.Logging;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Copies to a store the keys it missed writes for, from the other store, once it answers again: when its
/// circuit breaker closes, or shortly after a single missed write while it stays closed. The other store is the
/// truth for those keys, as it took the writes the missing store did not — unless the missing store has taken a
/// newer write since (it became the primary in a step): the versions say which copy is newer, whatever the phase
/// now is. Copying an older copy over a newer one would undo an acknowledged write, either way round: the items
/// added to a cart after a step back, or the write the new primary missed before the step. A newer copy in the
/// missing store is turned around: the other store, if the phase uses it, is brought up to date from it. A missed
/// removal is still made, whatever the phase: a signed-out session must not come back.
/// </summary>
internal sealed class CatchUp : IDisposable
{
    // After an isolated miss the store is probably fine: wait briefly for the write's own retry window, then copy.
    private static readonly TimeSpan DelayAfterMiss = TimeSpan.FromSeconds(1);
    // Keys left after a pass (a store stopped answering) are tried again after this, while the breaker stays closed.
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WhileOpen = TimeSpan.FromMilliseconds(250);
    private const int Parallelism = 8;
    private readonly CatchUpBacklog _redis;
    private readonly CatchUpBacklog _postgres;
    private readonly StoreRouting _routing;
    private readonly StoreBreakers _breakers;
    private readonly SecondaryConvergence _convergence;
    private readonly SessionLocks _locks;
    private readonly DualWriteCounters _counters;
    private readonly Func<SessionStoreOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _capacity;
    private int _redisRunning;
    private int _postgresRunning;

    private readonly Func<SessionStorePhase> _phase;
    private readonly Func<ISessionCacheProvider, StoreKind, string, CancellationToken, ValueTask<bool>> _revokeBestEffort;

    public CatchUp(
        int capacity, StoreRouting routing, StoreBreakers breakers, SecondaryConvergence convergence, SessionLocks locks, DualWriteCounters counters, Func<SessionStoreOptions> options,
        Func<SessionStorePhase> phase, Func<ISessionCacheProvider, StoreKind, string, CancellationToken, ValueTask<bool>> revokeBestEffort, TimeProvider time, ILogger logger)
    {
        _capacity = capacity;
        _redis = new CatchUpBacklog(capacity);
        _postgres = new CatchUpBacklog(capacity);
        (_routing, _breakers, _convergence, _locks, _counters, _options, _phase, _revokeBestEffort, _time, _logger) = (routing, breakers, convergence, locks, counters, options, phase, revokeBestEffort, time, logger);
    }

    public CatchUpBacklog Backlog(StoreKind kind) => kind == StoreKind.Redis ? _redis : _postgres;

    /// <summary>
    /// Remembers that <paramref name="kind"/> (not used by the phase, or the secondary) missed the revocation of
    /// <paramref name="userId"/>'s sessions, so that it is made once the store answers: a session left there would be
    /// read-repaired back after a step back. False when the backlog is full: then nothing will make it.
    /// </summary>
    public bool RevocationMissed(StoreKind kind, string userId)
    {
        var remembered = Backlog(kind).AddRevocation(userId);
        Start(kind, DelayAfterMiss);
        return remembered;
    }

    /// <summary>
    /// Remembers that <paramref name="kind"/> missed a write (or, <paramref name="removed"/>, the removal) of
    /// <paramref name="key"/>; <paramref name="keepsRemoval"/> when the miss wrote nothing new (a refresh, or a write
    /// the primary failed too), so that a removal missed before still stands.
    /// </summary>
    public void Missed(StoreKind kind, string key, bool removed, bool keepsRemoval = false)
    {
        var backlog = Backlog(kind);
        var overflowBefore = backlog.Overflow;
        if (!backlog.Add(key, removed, keepsRemoval))
        {
            _counters.Instruments.CatchUpOverflowed(PhaseRoles.NameOf(kind));
            if (overflowBefore == 0)
            {
                DualWriteLog.CatchUpOverflow(_logger, PhaseRoles.NameOf(kind), _capacity);
            }
        }

        Start(kind, DelayAfterMiss);
    }

    /// <summary>The store's breaker closed: copy what it missed now.</summary>
    public void Resume(StoreKind kind)
    {
        DualWriteLog.BreakerClosed(_logger, PhaseRoles.NameOf(kind), Backlog(kind).Count);
        Start(kind, TimeSpan.Zero);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private void Start(StoreKind kind, TimeSpan delay)
    {
        ref var running = ref kind == StoreKind.Redis ? ref _redisRunning : ref _postgresRunning;
        if (Interlocked.CompareExchange(ref running, 1, 0) != 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                // Runs until the backlog is empty. While the breaker is open it only waits: the first copy after the
                // break is the probe that closes it, even when no request comes to make one.
                var wait = delay;
                do
                {
                    await Task.Delay(wait, _time, _stopping.Token).ConfigureAwait(false);
                    if (!_breakers.For(kind).IsOpen)
                    {
                        await DrainAsync(kind, _stopping.Token).ConfigureAwait(false);
                    }

                    wait = _breakers.For(kind).IsOpen ? WhileOpen : RetryDelay;
                }
                while (!Backlog(kind).IsEmpty);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                // The cache is being disposed.
            }
            finally
            {
                Volatile.Write(ref kind == StoreKind.Redis ? ref _redisRunning : ref _postgresRunning, 0);
            }

            // A miss recorded after the last check of the backlog but before the flag was cleared found the loop
            // still running and started none: look once more.
            if (!_stopping.IsCancellationRequested && !Backlog(kind).IsEmpty)
            {
                Start(kind, RetryDelay);
            }
        });
    }

    /// <summary>Makes the revokes <paramref name="kind"/> missed; one that fails again waits for the next pass, not the others.</summary>
    private async Task RevokeMissedAsync(StoreKind kind, CancellationToken token)
    {
        var backlog = Backlog(kind);
        if (backlog.RevocationCount == 0)
        {
            return;
        }

        ISessionCacheProvider target;
        try
        {
            target = _routing.Store(kind).Get();
        }
        catch (StoreUnavailableException)
        {
            return;
        }

        foreach (var userId in backlog.Revocations)
        {
            if (_breakers.For(kind).IsOpen)
            {
                return;
            }

            if (await _revokeBestEffort(target, kind, userId, token).ConfigureAwait(false))
            {
                backlog.RevocationDone(userId);
            }
        }
    }

    private async Task DrainAsync(StoreKind kind, CancellationToken token)
    {
        // A revoke that keeps failing (one user's) must not hold up the copies: they are tried anyway, and fail
        // too if the store does not answer.
        await RevokeMissedAsync(kind, token).ConfigureAwait(false);

        var backlog = Backlog(kind);
        var copied = 0;
        while (backlog.Count > 0 && !_breakers.For(kind).IsOpen)
        {
            ISessionCacheProvider target, source;
            try
            {
                target = _routing.Store(kind).Get();
                source = _routing.Store(PhaseRoles.Other(kind)).Get();
            }
            catch (StoreUnavailableException)
            {
                // Already logged where the phase needed the store; the keys wait for settings that work.
                break;
            }

            var tolerance = _options().ExpiryTolerance;
            var phase = _phase();
            var isPrimary = phase != SessionStorePhase.Unspecified && PhaseRoles.Of(phase).Primary == kind;
            var (usesPostgres, usesRedis) = PhaseRoles.StoresOf(phase);
            var otherIsUsed = PhaseRoles.Other(kind) == StoreKind.Redis ? usesRedis : usesPostgres;
            var failed = 0;
            await Parallel.ForEachAsync(backlog.Snapshot(), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = token }, async (entry, t) =>
            {
                if (Volatile.Read(ref failed) > 0)
                {
                    return;
                }

                // In the key's turn (SessionLocks), as read repair: a sign-out between the copy's read of the source and
                // its write "only where absent" found nothing to remove in the target, and the copy then landed there.
                SessionLocks.Turn turn;
                try
                {
                    turn = await _locks.EnterAsync(entry.Key, isPrimary ? target : source, "catch-up", async: true, t).ConfigureAwait(false);
                }
                catch (SessionStoreTimeoutException)
                {
                    Interlocked.Increment(ref failed); // the key's writes are stuck: left for the next catch-up
                    return;
                }

                using var _ = turn;
                switch (await _convergence.ConvergeAsync(entry.Key, source, PhaseRoles.Other(kind), target, kind, isPrimary, tolerance, removeOrphan: entry.Value.Removed, t).ConfigureAwait(false))
                {
                    case Convergence.Converged:
                        backlog.Done(entry);
                        _counters.Replayed(target.Name);
                        Interlocked.Increment(ref copied);
                        break;
                    case Convergence.TargetIsNewer:
                        // It took a newer write since (as the primary after a step): the other store is the one behind.
                        // Handed on before it is done here, so that the key is never in neither backlog: an empty
                        // backlog reads as "caught up" (the statistics, the dashboard) while the other store still lags.
                        if (otherIsUsed)
                        {
                            Missed(PhaseRoles.Other(kind), entry.Key, removed: false);
                        }

                        backlog.Done(entry);
                        break;
                    default:
                        Interlocked.Increment(ref failed);
                        break;
                }
            }).ConfigureAwait(false);

            if (failed > 0)
            {
                // A store stopped answering again: its breaker (or the next miss) starts the catch-up once more.
                break;
            }
        }

        if (copied > 0)
        {
            DualWriteLog.CatchUpCompleted(_logger, PhaseRoles.NameOf(kind), copied, backlog.Count);
        }
    }
}
