using Polly.CircuitBreaker;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Calls whose result is the request's result: the primary's reads and writes. They go through the store's
/// circuit breaker (while it is open they fail at once instead of each waiting for the hung server). Each store
/// bounds its own asynchronous calls by its <see cref="SessionCacheProviderOptions.OperationTimeout"/> and the
/// caller's token (<see cref="StoreDeadline"/>), so they are not wrapped in a second time bound here.
/// A synchronous call to PostgreSQL cannot be abandoned, and its driver timeouts bound it; Redis's synchronous
/// calls wait on its bounded asynchronous path.
/// </summary>
internal sealed class PrimaryCalls(StoreBreakers breakers, SessionStoreInstruments instruments, TimeProvider time)
{
    private readonly RecentTimeouts _recentTimeouts = new(time);

    // key: the session's (or another name for what the call is about); a key whose call just timed out fails at once.
    public async ValueTask<T> RunAsync<T>(ISessionCacheProvider store, StoreKind kind, string operation, string key, Func<ISessionCacheProvider, bool, CancellationToken, ValueTask<T>> run, bool async, CancellationToken token)
    {
        var timeout = store.OperationTimeout;
        if (_recentTimeouts.Contains(kind, key, timeout))
        {
            throw SessionStoreTimeoutException.NotSentAfterTimeout(store.Name, operation, timeout);
        }

        var started = time.GetTimestamp();
        try
        {
            var result = await breakers.For(kind).ExecuteAsync(static (call, t) => call.run(call.store, call.async, t), (store, run, async), token).ConfigureAwait(false);
            _recentTimeouts.Answered(kind);
            return result;
        }
        catch (BrokenCircuitException e)
        {
            throw new StoreCircuitOpenException(store.Name, operation, e);
        }
        catch (TimeoutException) when (!token.IsCancellationRequested)
        {
            _recentTimeouts.Add(kind, key);
            throw;
        }
        finally
        {
            instruments.RecordDuration(store.Name, operation, time.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// <paramref name="kind"/> answered a call made off the request's result (a catch-up's copy, a comparison): it
    /// answers again, and the keys that timed out on it are sent at once, as after one of these calls.
    /// </summary>
    public void Answered(StoreKind kind) => _recentTimeouts.Answered(kind);

    public async ValueTask RunAsync(ISessionCacheProvider store, StoreKind kind, string operation, string key, Func<ISessionCacheProvider, bool, CancellationToken, ValueTask> run, bool async, CancellationToken token) =>
        await RunAsync(store, kind, operation, key, async (s, a, t) =>
        {
            await run(s, a, t).ConfigureAwait(false);
            return true;
        }, async, token).ConfigureAwait(false);
}
