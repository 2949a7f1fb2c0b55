namespace SessionStore.Dashboard;

/// <summary>One second of the migration, as the dashboard's time charts plot it.</summary>
/// <param name="Time">When the second ended.</param>
/// <param name="Phase">The phase in force then.</param>
/// <param name="Stores">Each store's operations together over the window that ended then.</param>
/// <param name="ReadRepairs">Read-repairs since start-up.</param>
/// <param name="SecondaryFailures">Secondary failures since start-up.</param>
/// <param name="Mismatches">Confirmed mismatches of every kind since start-up.</param>
/// <param name="CatchUpBacklog">Keys waiting to be copied to each store then.</param>
internal sealed record DashboardSample(
    DateTimeOffset Time,
    SessionStorePhase Phase,
    IReadOnlyList<OperationLatency> Stores,
    long ReadRepairs,
    long SecondaryFailures,
    long Mismatches,
    IReadOnlyDictionary<string, long> CatchUpBacklog);
