namespace SessionStore;

/// <summary>
/// The one <see cref="System.Diagnostics.Metrics.Meter"/> SessionStore reports on; subscribe to it by name
/// (for OpenTelemetry: <c>AddMeter(SessionStoreMetrics.MeterName)</c>).
/// </summary>
public static class SessionStoreMetrics
{
    /// <summary>The name of SessionStore's meter.</summary>
    public const string MeterName = "SessionStore";
}
