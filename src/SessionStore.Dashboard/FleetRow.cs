namespace SessionStore.Dashboard;

/// <summary>One application instance in the fleet table.</summary>
/// <param name="InstanceId">Its name.</param>
/// <param name="Phase">The phase it ran at its last heartbeat.</param>
/// <param name="LastHeartbeat">When it last wrote its heartbeat (database clock).</param>
/// <param name="HeartbeatAgeSeconds">How long ago that was.</param>
/// <param name="IsStale">Whether the heartbeat is too old: the instance is probably gone.</param>
/// <param name="IsSelf">Whether it is the instance serving the dashboard.</param>
internal sealed record FleetRow(string InstanceId, SessionStorePhase Phase, DateTimeOffset LastHeartbeat, double HeartbeatAgeSeconds, bool IsStale, bool IsSelf);
