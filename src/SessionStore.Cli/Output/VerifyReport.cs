namespace SessionStore.Cli.Output;

/// <summary><c>sessionstore verify --output json</c>. Property names are part of the tool's contract (docs/cli.md).</summary>
internal sealed record VerifyReport(
    bool ReadyForNextPhase,
    SessionStorePhase Phase,
    string Primary,
    long RedisLiveSessions,
    long PostgresLiveSessions,
    long CountGap,
    long AllowedCountGap,
    double CountTolerance,
    bool CountsAreClose,
    long Compared,
    long Unconfirmed,
    MismatchCounts Mismatches,
    long? OnlyInSecondary,
    long? UserIdDiffers);
