namespace SessionStore.Internal;

/// <summary>
/// Bounds an asynchronous store operation by <see cref="SessionCacheProviderOptions.OperationTimeout"/> and the caller's
/// token. Neither driver can always be stopped: a hung server answers neither a query nor Npgsql's cancel
/// request, and StackExchange.Redis ignores tokens. So the caller stops waiting, and the abandoned operation
/// ends in the background under the driver's own timeout, which breaks its connection rather than reusing it.
/// </summary>
internal static class StoreDeadline
{
    public static async ValueTask<T> RunAsync<T>(
        string store, string operation, string target, TimeSpan timeout, Func<CancellationToken, ValueTask<T>> run, CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(timeout);
        var pending = run(deadline.Token);
        if (pending.IsCompleted)
        {
            return await pending.ConfigureAwait(false);
        }

        var task = pending.AsTask();
        try
        {
            return await task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            Abandon(task);
            token.ThrowIfCancellationRequested();
            throw new SessionStoreTimeoutException(store, operation, timeout, target, innerException: null);
        }
    }

    /// <summary>A driver's own timeout, as Npgsql (a TimeoutException inside) or StackExchange.Redis reports it.</summary>
    public static bool IsDriverTimeout(Exception e) => e is not SessionStoreTimeoutException && (e is TimeoutException || e.InnerException is TimeoutException);

    /// <summary>Observes the abandoned operation's outcome, so its failure is not reported as unobserved.</summary>
    private static void Abandon(Task task) =>
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
