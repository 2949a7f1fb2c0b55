namespace SessionStore.Cli.Output;

/// <summary><c>sessionstore stats --output json</c>; null where a store is not configured or nothing was recorded.</summary>
internal sealed record StatsReport(
    string Table,
    string? RedisInstanceName,
    long? RedisLiveSessions,
    long? PostgresLiveSessions,
    long? PostgresExpiredRows,
    long? TableBytes,
    IReadOnlyDictionary<string, long> IndexBytes,
    long? Updates,
    double? HotUpdateRatio,
    DateTimeOffset? LastCleanupFinishedAt,
    long? LastCleanupRowsDeleted,
    double? LastCleanupDurationMs);
