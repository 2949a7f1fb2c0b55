using Microsoft.Extensions.Logging;

namespace SessionStore.Cleanup;

public sealed partial class PostgresSessionCleaner
{
    [LoggerMessage(SessionStoreEventIds.CleanupRunCompleted, LogLevel.Information,
        "Cleanup of {Table}: {RowsDeleted} expired rows deleted in {Batches} batches, {PartitionsCreated} partitions created, {PartitionsDropped} dropped, in {DurationMs:F0} ms (stopped at the maximum run time: {ReachedMaximumRunTime}).")]
    private partial void LogRunCompleted(string table, long rowsDeleted, int batches, int partitionsCreated, int partitionsDropped, double durationMs, bool reachedMaximumRunTime);

    [LoggerMessage(SessionStoreEventIds.CleanupSkippedLocked, LogLevel.Information,
        "Cleanup of {Table} skipped: another instance holds its cleanup lock.")]
    private partial void LogSkippedLocked(string table);

    [LoggerMessage(SessionStoreEventIds.CleanupRunFailed, LogLevel.Error,
        "Cleanup of {Table} failed; it is tried again at the next run.")]
    private partial void LogRunFailed(string table, Exception exception);

    [LoggerMessage(SessionStoreEventIds.CleanupPartitionsPostponed, LogLevel.Warning,
        "Partition maintenance of {Table} postponed: its lock was not granted within {LockTimeoutMs} ms (a long query on the table?). Rows are still deleted; partitions are created and dropped at a later run.")]
    private partial void LogPartitionsPostponed(string table, double lockTimeoutMs);

    [LoggerMessage(SessionStoreEventIds.CleanupPartitionsPostponed, LogLevel.Warning,
        "Partition maintenance of {Table} postponed: it did not finish within its statement timeout of {StatementTimeoutMs} ms (waiting for a lock longer than that? keep LockTimeout below StatementTimeout). Rows are still deleted; partitions are created and dropped at a later run.")]
    private partial void LogPartitionsPostponedByStatementTimeout(string table, double statementTimeoutMs);

    [LoggerMessage(SessionStoreEventIds.CleanupCouldNotStart, LogLevel.Warning,
        "Cleanup of {Table} could not start: {Reason} It is tried again at the next run.")]
    private partial void LogCouldNotStart(string table, string reason, Exception exception);
}
