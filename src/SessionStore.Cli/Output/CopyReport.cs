namespace SessionStore.Cli.Output;

/// <summary>
/// <c>sessionstore backfill|sync --output json</c>. <see cref="Outcome"/> is completed, errors, incomplete or
/// interrupted (exit 0, 1, 4, 130); <see cref="Passes"/> and <see cref="TopologyChanged"/> say whether a Redis
/// Cluster's slots moved under the run.
/// </summary>
internal sealed record CopyReport(
    string Command,
    string Outcome,
    long Scanned,
    long Copied,
    long Replaced,
    long AlreadyPresent,
    long UserIdsCorrected,
    long Skipped,
    long ResurrectionsAvoided,
    long Errors,
    bool Resumed,
    int Passes,
    bool TopologyChanged,
    double ElapsedSeconds,
    string? Checkpoint);
