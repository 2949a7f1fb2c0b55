namespace SessionStore.Rehearsal;

/// <summary>What one stretch of traffic did: requests sent, those without a successful answer, sessions found wrong.</summary>
internal readonly record struct TrafficCounts(int Requests, int Failed, int Lost);
