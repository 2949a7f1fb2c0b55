namespace SessionStore.Fleet;

/// <summary>
/// How an application instance reports itself in the fleet table (<c>&lt;table&gt;_instances</c>, schema version 4):
/// its name, its phase and a heartbeat. Configure with <c>services.Configure&lt;SessionStoreFleetOptions&gt;(...)</c>.
/// </summary>
public sealed class SessionStoreFleetOptions
{
    /// <summary>Whether the instance writes its heartbeat and checks its phase against the fleet's.</summary>
    /// <value>Default true. Needs the PostgreSQL store configured; without it nothing is written.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>The instance's name in the fleet table.</summary>
    /// <value>Default null: the machine name and the process id, e.g. <c>web-3:4127</c>. At most 200 characters.</value>
    public string? InstanceName { get; set; }

    /// <summary>How often the instance writes its heartbeat (and its phase, which may have changed live).</summary>
    /// <value>Default 15 seconds. From 1 second to 10 minutes.</value>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How old a heartbeat may be before its instance counts as gone (stale): ignored by the phase check, marked by <c>status</c>.</summary>
    /// <value>Default 1 minute. More than <see cref="HeartbeatInterval"/>.</value>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Lists every invalid setting; empty when the options can be used.</summary>
    /// <returns>One message per invalid setting, naming it and what is allowed.</returns>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (InstanceName is { } name && (string.IsNullOrWhiteSpace(name) || name.Length > 200))
        {
            failures.Add($"{nameof(InstanceName)} '{name}' must be 1 to 200 characters, not blank.");
        }

        if (HeartbeatInterval < TimeSpan.FromSeconds(1) || HeartbeatInterval > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{nameof(HeartbeatInterval)} is {HeartbeatInterval}; it must be between 00:00:01 and 00:10:00.");
        }

        if (StaleAfter <= HeartbeatInterval)
        {
            failures.Add($"{nameof(StaleAfter)} is {StaleAfter}; it must be more than {nameof(HeartbeatInterval)} ({HeartbeatInterval}).");
        }

        return failures;
    }

    /// <summary>The name this instance writes.</summary>
    internal string ResolvedInstanceName => InstanceName ?? $"{Environment.MachineName}:{Environment.ProcessId}";
}
