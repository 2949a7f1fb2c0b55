namespace SessionStore.Cli.Output;

/// <summary>
/// <c>sessionstore status --output json</c>: the command exits 1 exactly when <see cref="PhasesAdjacent"/> is false or
/// <see cref="UnreadablePhases"/> is more than 0 (live instances whose phase this tool cannot read).
/// </summary>
internal sealed record StatusReport(
    string FleetTable,
    double StaleAfterSeconds,
    int LiveInstances,
    bool PhasesAdjacent,
    int UnreadablePhases,
    IReadOnlyList<StatusInstance> Instances);
