namespace SessionStore;

/// <summary>
/// A session store operation did not complete within <see cref="SessionCacheProviderOptions.OperationTimeout"/>: the
/// server is hung, overloaded or unreachable without refusing. The message names the store, the operation and
/// the timeout, never the key.
/// </summary>
public sealed class SessionStoreTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public SessionStoreTimeoutException()
        : this("A session store operation timed out.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What timed out.</param>
    public SessionStoreTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What timed out.</param>
    /// <param name="innerException">The driver's own timeout or cancellation, when it reported one.</param>
    public SessionStoreTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for one operation of one store.</summary>
    /// <param name="store">The store, as <c>postgresql</c> or <c>redis</c>.</param>
    /// <param name="operation">The operation, such as <c>get</c>, <c>set</c> or <c>ping</c>.</param>
    /// <param name="timeout">The bound that passed.</param>
    /// <param name="target">The table or endpoints, for the message.</param>
    /// <param name="innerException">The driver's own timeout, or null.</param>
    public SessionStoreTimeoutException(string store, string operation, TimeSpan timeout, string target, Exception? innerException)
        : base($"The {store} session store did not complete {operation} on {target} within {timeout.TotalMilliseconds:0.###} ms " +
            $"(SessionCacheProviderOptions.OperationTimeout); the server may be hung or overloaded.", innerException)
    {
        Store = store;
        Operation = operation;
        Timeout = timeout;
        Setting = nameof(SessionCacheProviderOptions.OperationTimeout);
    }

    /// <summary>
    /// For a bound of the dual-write cache's own (<see cref="SessionStoreOptions.SecondaryTimeout"/>,
    /// <see cref="SessionStoreOptions.HealthCheckTimeout"/>), named by <paramref name="setting"/>; or of the cleanup's
    /// (<see cref="Cleanup.PostgresCleanupOptions.StatementTimeout"/>), which <paramref name="bound"/> then spells out,
    /// on <paramref name="target"/> (a table) when given.
    /// </summary>
    internal SessionStoreTimeoutException(string store, string operation, TimeSpan timeout, string setting, TimeoutException waited, string? bound = null, string? target = null)
        : base($"The {store} session store did not complete {operation}{(target is null ? "" : " on " + target)} within {timeout.TotalMilliseconds:0.###} ms " +
            $"({bound ?? "SessionStoreOptions." + setting}); the operation was abandoned.", waited)
    {
        Store = store;
        Operation = operation;
        Timeout = timeout;
        Setting = setting;
    }

    private SessionStoreTimeoutException(string store, string operation, TimeSpan timeout, string message)
        : base(message)
    {
        Store = store;
        Operation = operation;
        Timeout = timeout;
        Setting = nameof(SessionCacheProviderOptions.OperationTimeout);
    }

    /// <summary>The store that timed out, as <c>postgresql</c> or <c>redis</c>; null when not given.</summary>
    public string? Store { get; }

    /// <summary>The operation that timed out, such as <c>get</c>, <c>set</c>, <c>refresh</c>, <c>remove</c>, <c>revoke</c> or <c>ping</c>.</summary>
    public string? Operation { get; }

    /// <summary>The bound that passed.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>
    /// The setting that holds the bound: <c>OperationTimeout</c> (a store's), the dual-write cache's
    /// <c>SecondaryTimeout</c> or <c>HealthCheckTimeout</c>, or the cleanup's <c>StatementTimeout</c>; null when not given.
    /// </summary>
    public string? Setting { get; }

    /// <summary>
    /// A dual-write call not sent: the same session's previous call to <paramref name="store"/> timed out moments ago,
    /// and the store has answered no call since. A request then waits one timeout, not one per call.
    /// </summary>
    internal static SessionStoreTimeoutException NotSentAfterTimeout(string store, string operation, TimeSpan timeout) =>
        new(store, operation, timeout,
            $"The {store} session store was not sent {operation}: this session's previous call to it timed out (after {timeout.TotalMilliseconds:0.###} ms, " +
            "SessionCacheProviderOptions.OperationTimeout) moments ago, and the store has answered no call since; the server may be hung or overloaded.")
        {
            NotSent = true,
        };

    /// <summary>Whether the operation was never sent to the store (so it cannot land later).</summary>
    internal bool NotSent { get; private init; }
}
