namespace SessionStore.Fleet;

/// <summary>One application instance as the fleet table records it.</summary>
/// <param name="InstanceId">The instance's name: a configured one, or the machine name and process id.</param>
/// <param name="Phase">The phase the instance ran at its last heartbeat (<see cref="SessionStorePhase.Unspecified"/> if unreadable).</param>
/// <param name="StartedAt">When the instance first wrote its heartbeat.</param>
/// <param name="LastHeartbeat">When the instance last wrote its heartbeat (database clock).</param>
/// <param name="HeartbeatAge">How long ago that was, measured by the database clock; negative when the heartbeat is in the future (the clock was set back since).</param>
/// <param name="IsStale">Whether the heartbeat is further from now than the stale limit, either way: the instance is probably gone.</param>
public sealed record FleetInstance(string InstanceId, SessionStorePhase Phase, DateTimeOffset StartedAt, DateTimeOffset LastHeartbeat, TimeSpan HeartbeatAge, bool IsStale);
