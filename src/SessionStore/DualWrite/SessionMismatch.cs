namespace SessionStore.DualWrite;

/// <summary>A confirmed difference between the two stores for one entry.</summary>
/// <param name="Kind">What differs.</param>
/// <param name="Phase">The phase in which it was found.</param>
/// <param name="KeyHash">A short hash of the key, to correlate reports; the key itself is a credential and never given out.</param>
public sealed record SessionMismatch(SessionMismatchKind Kind, SessionStorePhase Phase, string KeyHash);
