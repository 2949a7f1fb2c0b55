namespace SessionStore.Cli.Output;

/// <summary>One application instance in <see cref="StatusReport"/>; <see cref="Phase"/> is a phase's name, or <c>unreadable</c>.</summary>
internal sealed record StatusInstance(
    string InstanceId,
    string Phase,
    DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeat,
    double HeartbeatAgeSeconds,
    bool Stale);
