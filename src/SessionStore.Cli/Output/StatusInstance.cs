namespace SessionStore.Cli.Output;

/// <summary>One application instance in <see cref="StatusReport"/>.</summary>
internal sealed record StatusInstance(
    string InstanceId,
    SessionStorePhase Phase,
    DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeat,
    double HeartbeatAgeSeconds,
    bool Stale);
