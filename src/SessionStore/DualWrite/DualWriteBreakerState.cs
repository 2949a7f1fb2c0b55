namespace SessionStore.DualWrite;

/// <summary>The state of a store's circuit breaker in the dual-write cache.</summary>
public enum DualWriteBreakerState
{
    /// <summary>Calls go to the store.</summary>
    Closed = 0,

    /// <summary>The store failed or hung repeatedly: calls are not sent to it until a probe succeeds.</summary>
    Open = 1,

    /// <summary>One probe call is being let through; its outcome closes or reopens the breaker.</summary>
    HalfOpen = 2,
}
