using SessionStore.Diagnostics;

namespace SessionStore.Internal;

/// <summary>
/// Bounds an asynchronous store operation by <see cref="SessionCacheProviderOptions.OperationTimeout"/> and the caller's
/// token. Neither driver can always be stopped: a hung server answers neither a query nor Npgsql's cancel
/// request, and StackExchange.Redis ignores tokens. So the caller stops waiting, and the abandoned operation
/// ends in the background under the driver's own timeout, which breaks its connection rather than reusing it.
/// Every store call passes here, so here it gets its client span (<see cref="SessionStoreActivities"/>), current
/// while the driver runs, so that Npgsql's and StackExchange.Redis's own spans become its children.
/// </summary>
internal static class StoreDeadline
{
    /// <summary>Runs <paramref name="run"/>, waiting for it at most <paramref name="timeout"/> and while <paramref name="token"/> is not cancelled.</summary>
    public static ValueTask<T> RunAsync<T>(
        string store, string operation, string target, TimeSpan timeout, Func<CancellationToken, ValueTask<T>> run, CancellationToken token) =>
        RunAsync(store, operation, target, timeout, run, static (run, t) => run(t), token);

    /// <summary>
    /// As above, with the call's state passed rather than captured, so that a hot path allocates no closure. The
    /// call gets the caller's token, not the deadline: the deadline is only how long the caller waits.
    /// <paramref name="explain"/> turns a failure of the call into the error the caller should see (null: as it is).
    /// </summary>
    public static async ValueTask<T> RunAsync<TState, T>(
        string store, string operation, string target, TimeSpan timeout, TState state, Func<TState, CancellationToken, ValueTask<T>> run, CancellationToken token,
        Func<Exception, string, Exception?>? explain = null)
    {
        token.ThrowIfCancellationRequested();
        using var activity = SessionStoreActivities.StartStoreCall(store, operation, target);
        try
        {
            try
            {
                var pending = run(state, token);
                if (pending.IsCompleted)
                {
                    return await pending.ConfigureAwait(false);
                }

                // One timer and one token registration, in WaitAsync: a linked token source would add two objects to every call.
                var task = pending.AsTask();
                try
                {
                    return await task.WaitAsync(timeout, token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is TimeoutException or OperationCanceledException)
                {
                    // The call may end in the instant the deadline passes: its answer still counts, but a failure of its
                    // own then (a driver timeout at the same bound) is reported as the deadline, not raw from WaitAsync.
                    if (task.IsCompletedSuccessfully)
                    {
                        return task.Result;
                    }

                    Abandon(task);
                    token.ThrowIfCancellationRequested();
                    throw new SessionStoreTimeoutException(store, operation, timeout, target, innerException: null);
                }
            }
            catch (Exception e) when (explain?.Invoke(e, operation) is { } explained)
            {
                throw explained;
            }
        }
        catch (Exception e) when (SessionStoreActivities.Failed(activity, e, token))
        {
            throw;
        }
    }

    /// <summary>
    /// A synchronous store call, bounded by the driver's own timeouts (it cannot be abandoned), in its client span.
    /// The state carries what the call needs, so that no closure is allocated when nobody listens.
    /// </summary>
    public static ValueTask<T> RunSynchronously<TState, T>(string store, string operation, string target, TState state, Func<TState, ValueTask<T>> run)
    {
        using var activity = SessionStoreActivities.StartStoreCall(store, operation, target);
        if (activity is null)
        {
            return run(state);
        }

        try
        {
            // A synchronous path completes before it returns; its failure is inside the ValueTask, so it is read here.
            return new ValueTask<T>(run(state).GetAwaiter().GetResult());
        }
        catch (Exception e) when (SessionStoreActivities.Failed(activity, e, CancellationToken.None))
        {
            throw;
        }
    }

    /// <summary>
    /// Whether a caller that started waiting at <paramref name="startedAt"/> (a <paramref name="time"/> timestamp)
    /// has stopped waiting: its <paramref name="token"/> was cancelled, or <paramref name="timeout"/> has passed. A
    /// statement not yet sent for such a caller is not sent at all: a write sent then could land over one its caller
    /// has made since.
    /// </summary>
    public static bool HasStoppedWaiting(TimeProvider time, long startedAt, TimeSpan timeout, CancellationToken token) =>
        token.IsCancellationRequested || time.GetElapsedTime(startedAt) >= timeout;

    /// <summary>The error for a statement not sent because its caller had stopped waiting (<see cref="HasStoppedWaiting"/>), as that caller stopped.</summary>
    public static Exception NotSent(CancellationToken token) => token.IsCancellationRequested
        ? new OperationCanceledException(token)
        : new TimeoutException("The statement's caller waited past the operation timeout before it could be sent; it was not sent.");

    /// <summary>A driver's own timeout, as Npgsql (a TimeoutException inside) or StackExchange.Redis reports it.</summary>
    public static bool IsDriverTimeout(Exception e) => e is not SessionStoreTimeoutException && (e is TimeoutException || e.InnerException is TimeoutException);

    /// <summary>
    /// Runs <paramref name="run"/> and returns as soon as <paramref name="token"/> is cancelled, even while a server
    /// is hung: the call is then abandoned (<see cref="Abandon"/>) and cancelled behind the caller's back. Npgsql
    /// does not stop opening a connection to a hung server when its token is cancelled, and answers a cancelled
    /// statement with a cancel request sent from the cancelling thread, which a hung server holds (10 to 60 s
    /// measured). So the call gets a token of its own, cancelled on the thread pool once the caller's is: the
    /// caller's <c>Cancel()</c> returns at once too. That costs a pool thread per call cancelled on a hung server,
    /// which suits the rare calls that come here (a migration, a cleanup run, a tool), not per-request statements.
    /// </summary>
    public static async Task<T> UntilCancelledAsync<T>(Func<CancellationToken, Task<T>> run, CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        if (!token.CanBeCanceled)
        {
            return await run(CancellationToken.None).ConfigureAwait(false);
        }

        var own = new CancellationTokenSource();
        var relay = token.UnsafeRegister(static own => CancelOnThreadPool((CancellationTokenSource)own!), own);
        Task<T>? pending = null;
        var abandoned = false;
        try
        {
            pending = run(own.Token);
            return await pending.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested && pending is not null)
        {
            // The call may end in the instant the caller cancels: its answer still counts, its failure is observed.
            if (pending.IsCompletedSuccessfully)
            {
                return pending.Result;
            }

            Abandon(pending);
            if (!pending.IsCompleted)
            {
                abandoned = true;

                // Here too, not only in the relay: this may run inside the caller's Cancel(), before the relay's turn,
                // and the relay's disposal below would then take it out before it ran, leaving the call uncancelled.
                CancelOnThreadPool(own);
            }

            throw;
        }
        finally
        {
            await relay.DisposeAsync().ConfigureAwait(false);

            // An abandoned call still holds the token, which the relay cancels: it is not disposed under it (it holds no timer).
            if (!abandoned)
            {
                own.Dispose();
            }
        }
    }

    private static void CancelOnThreadPool(CancellationTokenSource source) =>
        ThreadPool.UnsafeQueueUserWorkItem(CancelQuietly, source, preferLocal: false);

    private static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
#pragma warning disable CA1031 // On a thread-pool thread, a throw would end the process; the call's own outcome is observed by Abandon.
        catch (Exception)
#pragma warning restore CA1031
        {
            // Disposed: the call had ended as its caller cancelled. Else a callback of the call's threw.
        }
    }

    /// <summary>
    /// Leaves an operation the caller stopped waiting for to end under the driver's own timeouts, observing its
    /// outcome so that its failure is not reported as unobserved. It is not cancelled here: cancelling a call to a
    /// hung server costs a blocked thread (Npgsql's cancel request waits for the server), one per abandoned call,
    /// which under load starves the thread pool; only the rare calls of <see cref="UntilCancelledAsync"/> pay it. The
    /// dual-write layer's own bounds (<c>Bounded</c>) abandon the same way.
    /// </summary>
    public static void Abandon(Task task) =>
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
