namespace SessionStore.Cli.Output;

/// <summary><c>sessionstore status --output json</c>: <see cref="PhasesAdjacent"/> is false exactly when the command exits 1.</summary>
internal sealed record StatusReport(
    string FleetTable,
    double StaleAfterSeconds,
    int LiveInstances,
    bool PhasesAdjacent,
    IReadOnlyList<StatusInstance> Instances);
