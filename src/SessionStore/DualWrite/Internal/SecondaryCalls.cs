using Polly.CircuitBreaker;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Every call the dual-write cache makes to a store off the request's critical result: the secondary's writes,
/// read-repair's and failover's secondary reads, comparisons, catch-up copies and the idle store's revoke.
/// This is what happens when that store hangs or fails:
/// <list type="number">
/// <item>each call waits at most <see cref="SessionStoreOptions.SecondaryTimeout"/>, and no longer than the caller's
/// token: a hung call is abandoned, not awaited (<see cref="Bounded"/>);</item>
/// <item>a failure or timeout is counted and logged, never thrown: the caller gets "not done";</item>
/// <item>the store's circuit breaker sees every outcome; once it opens, calls return "not done" at once, without
/// waiting, until a probe call succeeds;</item>
/// <item>a key whose call just timed out is not sent again for a few timeouts' time: a request's load and commit of
/// one session then wait one timeout between them, not two, before the breaker has opened;</item>
/// <item>writes that were not done are remembered by <see cref="CatchUp"/> and copied once the store answers again.</item>
/// </list>
/// A comparison's or a catch-up's read of the store it copies from (mostly the primary) is bounded and guarded the same
/// way (<see cref="TryReadSourceAsync"/>), but its failure is not the secondary's, and is not counted as one.
/// </summary>
internal sealed class SecondaryCalls(StoreBreakers breakers, Func<SessionStoreOptions> options, DualWriteCounters counters, PrimaryCalls primary, TimeProvider time)
{
    private readonly RecentTimeouts _recentTimeouts = new(time);

    public ValueTask<(bool Done, T? Value)> TryRunAsync<T>(
        ISessionCacheProvider store, StoreKind kind, string operation, string key, Func<ISessionCacheProvider, CancellationToken, ValueTask<T>> run, CancellationToken token) =>
        TryRunAsync(store, kind, operation, key, run, secondary: true, token);

    /// <summary>
    /// Reads <paramref name="key"/> from the store a comparison or a catch-up copies from. A failure or an open
    /// breaker gives "not done" as for a secondary call, but is not counted among the secondary failures (a go/no-go
    /// signal for the migration): it is logged at debug level (<see cref="SessionStoreEventIds.DualWriteSourceReadFailed"/>),
    /// and the caller leaves the comparison or the copy for later.
    /// </summary>
    public ValueTask<(bool Done, StoredEntry? Value)> TryReadSourceAsync(ISessionCacheProvider store, StoreKind kind, string key, CancellationToken token) =>
        TryRunAsync(store, kind, "get", key, (s, t) => s.GetEntryAsync(key, async: true, t), secondary: false, token);

    private async ValueTask<(bool Done, T? Value)> TryRunAsync<T>(
        ISessionCacheProvider store, StoreKind kind, string operation, string key, Func<ISessionCacheProvider, CancellationToken, ValueTask<T>> run, bool secondary, CancellationToken token)
    {
        var breaker = breakers.For(kind);
        var timeout = options().SecondaryTimeout;
        if (breaker.IsOpen || _recentTimeouts.Contains(kind, key, timeout))
        {
            if (secondary)
            {
                counters.SecondarySkipped(store.Name, operation);
            }

            return (false, default);
        }

        var started = time.GetTimestamp();
        try
        {
            var value = await breaker.ExecuteAsync(
                static (call, t) => Bounded.RunAsync(call.store.Name, call.operation, c => call.run(call.store, c), call.timeout, nameof(SessionStoreOptions.SecondaryTimeout), call.time, t),
                (store, operation, run, timeout, time),
                token).ConfigureAwait(false);
            _recentTimeouts.Answered(kind);
            primary.Answered(kind); // after a step back, this store's sessions that timed out on it before are sent again
            return (true, value);
        }
        catch (BrokenCircuitException)
        {
            if (secondary)
            {
                counters.SecondarySkipped(store.Name, operation);
            }

            return (false, default);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, token))
        {
            // Only a secondary's timeout holds the key back: the source's would skip the next secondary write of a healthy store.
            if (e is TimeoutException && secondary)
            {
                _recentTimeouts.Add(kind, key);
            }

            if (secondary)
            {
                counters.SecondaryFailed(store.Name, operation, key, e);
            }
            else
            {
                counters.SourceReadFailed(store.Name, operation, key, e);
            }

            return (false, default);
        }
        finally
        {
            counters.Instruments.RecordDuration(store.Name, operation, time.GetElapsedTime(started));
        }
    }

    public async ValueTask<bool> TryRunAsync(
        ISessionCacheProvider store, StoreKind kind, string operation, string key, Func<ISessionCacheProvider, CancellationToken, ValueTask> run, CancellationToken token) =>
        (await TryRunAsync(store, kind, operation, key, async (s, t) =>
        {
            await run(s, t).ConfigureAwait(false);
            return true;
        }, token).ConfigureAwait(false)).Done;
}
