namespace SessionStore.Internal;

/// <summary>
/// Runs a store operation for at most a given time, and returns as soon as the caller gives up. A hung server
/// does not answer cancellation (Npgsql's cancel request needs the server too), so the operation is abandoned
/// rather than awaited, and left to finish on its own under the store's own timeouts. Its timeout names the store,
/// the operation (and its <c>target</c>, when given) and the setting that holds the bound
/// (<see cref="SessionStoreTimeoutException"/>): a <see cref="SessionStoreOptions"/> one unless <c>bound</c> says otherwise.
/// </summary>
internal static class Bounded
{
    public static async ValueTask<T> RunAsync<T>(
        string store, string operation, Func<CancellationToken, ValueTask<T>> run, TimeSpan timeout, string setting, TimeProvider time, CancellationToken token, string? bound = null, string? target = null)
    {
        token.ThrowIfCancellationRequested();
        var pending = run(token);
        if (pending.IsCompleted)
        {
            return await pending.ConfigureAwait(false);
        }

        var task = pending.AsTask();
        try
        {
            return await task.WaitAsync(timeout, time, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            // The call may end in the instant the wait does: then its own answer or failure is the outcome.
            if (task.IsCompleted)
            {
                return await task.ConfigureAwait(false);
            }

            StoreDeadline.Abandon(task);
            if (e is TimeoutException waited)
            {
                throw new SessionStoreTimeoutException(store, operation, timeout, setting, waited, bound, target);
            }

            throw;
        }
    }

    public static async ValueTask RunAsync(
        string store, string operation, Func<CancellationToken, ValueTask> run, TimeSpan timeout, string setting, TimeProvider time, CancellationToken token, string? bound = null, string? target = null) =>
        await RunAsync(store, operation, async t =>
        {
            await run(t).ConfigureAwait(false);
            return true;
        }, timeout, setting, time, token, bound, target).ConfigureAwait(false);
}
