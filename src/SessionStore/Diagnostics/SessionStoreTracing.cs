namespace SessionStore;

/// <summary>
/// The names SessionStore publishes traces under, for OpenTelemetry's <c>AddSource</c>. Spans follow the
/// OpenTelemetry database conventions and never carry a session key or user id (docs/observability.md lists them).
/// </summary>
public static class SessionStoreTracing
{
    /// <summary>
    /// The one activity source of SessionStore, named like the meter (<see cref="SessionStoreMetrics.MeterName"/>): a
    /// span per <c>DualWriteCache</c> operation and a client span per store call, parent of Npgsql's and
    /// StackExchange.Redis's own spans.
    /// </summary>
    public const string ActivitySourceName = SessionStoreMetrics.MeterName;

    /// <summary>Attribute of a <c>DualWriteCache</c> operation's span: the phase it ran in, e.g. <c>DualWriteRedisPrimary</c>.</summary>
    public const string PhaseAttribute = "sessionstore.phase";

    /// <summary>Attribute of a <c>DualWriteCache</c> operation's span: get, set, refresh, remove or revoke.</summary>
    public const string OperationAttribute = "sessionstore.operation";
}
