using SessionStore.DualWrite;

namespace SessionStore.Dashboard;

/// <summary>What <c>/dashboard/data</c> answers: everything the page draws.</summary>
/// <param name="GeneratedAt">When the answer was put together.</param>
/// <param name="Instance">This instance's name in the fleet table.</param>
/// <param name="WindowSeconds">How many seconds each latency percentile covers.</param>
/// <param name="Statistics">The dual-write counters now: phase, mismatches by kind, breakers, catch-up backlog.</param>
/// <param name="Operations">Each store and operation over the last window.</param>
/// <param name="History">One sample a second, oldest first, for the last few minutes.</param>
/// <param name="Fleet">The fleet table as last read.</param>
internal sealed record DashboardData(
    DateTimeOffset GeneratedAt,
    string Instance,
    int WindowSeconds,
    DualWriteStatistics Statistics,
    IReadOnlyList<OperationLatency> Operations,
    IReadOnlyList<DashboardSample> History,
    FleetView Fleet);
