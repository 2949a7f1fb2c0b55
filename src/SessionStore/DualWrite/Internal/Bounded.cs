using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Runs a store operation for at most a given time, and returns as soon as the caller gives up. A hung server
/// does not answer cancellation (Npgsql's cancel request needs the server too), so the operation is abandoned
/// rather than awaited, and left to finish on its own under the store's own timeouts.
/// </summary>
internal static class Bounded
{
    public static async ValueTask<T> RunAsync<T>(
        string store, string operation, Func<CancellationToken, ValueTask<T>> run, TimeSpan timeout, TimeProvider time, CancellationToken token)
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
        catch (TimeoutException e) when (!task.IsCompleted)
        {
            StoreDeadline.Abandon(task);
            throw new TimeoutException($"The {store} session store did not complete '{operation}' within {timeout.TotalMilliseconds:0} ms; the operation was abandoned.", e);
        }
        catch (OperationCanceledException) when (!task.IsCompleted)
        {
            StoreDeadline.Abandon(task);
            throw;
        }
    }

    public static async ValueTask RunAsync(string store, string operation, Func<CancellationToken, ValueTask> run, TimeSpan timeout, TimeProvider time, CancellationToken token) =>
        await RunAsync(store, operation, async t =>
        {
            await run(t).ConfigureAwait(false);
            return true;
        }, timeout, time, token).ConfigureAwait(false);
}
