namespace SessionStore.DualWrite.Internal;

internal static class StoreFailures
{
    /// <summary>A failure of the store, as opposed to a bad argument or the caller giving up.</summary>
    public static bool IsStoreFailure(Exception e, CancellationToken token) =>
        e is not (ArgumentException or ObjectDisposedException) && !(e is OperationCanceledException && token.IsCancellationRequested);
}
