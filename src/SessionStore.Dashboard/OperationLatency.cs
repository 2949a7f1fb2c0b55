namespace SessionStore.Dashboard;

/// <summary>One store operation over the dashboard's window.</summary>
/// <param name="Store">The <c>db.system.name</c> tag: <c>redis</c> or <c>postgresql</c>.</param>
/// <param name="Operation">The <c>db.operation.name</c> tag: get, set, refresh, remove.</param>
/// <param name="Count">Operations in the window.</param>
/// <param name="P50Milliseconds">The median duration, 0 when there were none.</param>
/// <param name="P99Milliseconds">The 99th percentile, 0 when there were none.</param>
internal sealed record OperationLatency(string Store, string Operation, long Count, double P50Milliseconds, double P99Milliseconds);
