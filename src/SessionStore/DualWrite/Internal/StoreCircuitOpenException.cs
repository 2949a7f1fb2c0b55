namespace SessionStore.DualWrite.Internal;

/// <summary>A call refused without being tried, because the store failed or hung repeatedly just before.</summary>
internal sealed class StoreCircuitOpenException(string store, string operation, Exception inner)
    : InvalidOperationException($"The {store} session store failed or timed out repeatedly; '{operation}' was refused without waiting while its circuit breaker is open.", inner);
