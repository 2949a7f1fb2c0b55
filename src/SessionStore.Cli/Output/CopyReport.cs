namespace SessionStore.Cli.Output;

/// <summary><c>sessionstore backfill|sync --output json</c>. <see cref="Outcome"/> is completed, errors or interrupted (exit 0, 1, 130).</summary>
internal sealed record CopyReport(
    string Command,
    string Outcome,
    long Scanned,
    long Copied,
    long Replaced,
    long AlreadyPresent,
    long Skipped,
    long ResurrectionsAvoided,
    long Errors,
    bool Resumed,
    double ElapsedSeconds,
    string? Checkpoint);
