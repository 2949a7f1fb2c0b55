namespace SessionStore;

/// <summary>The names SessionStore publishes metrics under, for OpenTelemetry's <c>AddMeter</c> and dashboards.</summary>
public static class SessionStoreMetrics
{
    /// <summary>The one meter every SessionStore instrument belongs to.</summary>
    public const string MeterName = "SessionStore";

    /// <summary>Histogram, seconds: each store operation, tagged <c>db.system.name</c> (postgresql, redis) and <c>db.operation.name</c> (get, set, refresh, remove).</summary>
    public const string OperationDuration = "db.client.operation.duration";

    /// <summary>Counter: secondary-store operations that failed or timed out in a dual phase, tagged like the durations.</summary>
    public const string SecondaryFailures = "sessionstore.dual_write.secondary_failures";

    /// <summary>Counter: entries copied between the stores, tagged with the store written (<c>db.system.name</c>).</summary>
    public const string ReadRepairs = "sessionstore.dual_write.read_repairs";

    /// <summary>Counter: confirmed differences between the stores, tagged <c>sessionstore.mismatch.kind</c>.</summary>
    public const string Mismatches = "sessionstore.dual_write.mismatches";

    /// <summary>
    /// Counter: sampled comparisons of a session's two copies that ended, tagged <c>sessionstore.comparison.outcome</c>:
    /// <c>equal</c>, <c>mismatch</c> (also counted in <see cref="Mismatches"/>), or <c>in_flux</c> (a copy was written
    /// meanwhile, so no verdict). Comparisons whose reads failed count as secondary failures instead.
    /// </summary>
    public const string Comparisons = "sessionstore.dual_write.comparisons";

    /// <summary>
    /// Counter: cleanup runs that failed, tagged <c>db.collection.name</c> (the table) and <c>error.type</c> (the
    /// exception's type, e.g. <c>Npgsql.NpgsqlException</c> while PostgreSQL is unreachable).
    /// </summary>
    public const string CleanupFailures = "sessionstore.cleanup.failures";

    /// <summary>Counter: expired session rows deleted by cleanup batches, tagged <c>db.collection.name</c> (the table).</summary>
    public const string CleanupRowsDeleted = "sessionstore.cleanup.rows_deleted";

    /// <summary>Counter: cleanup delete batches (one transaction each), tagged <c>db.collection.name</c>.</summary>
    public const string CleanupBatches = "sessionstore.cleanup.batches";

    /// <summary>Counter: partitions dropped because every row they can hold had expired, tagged <c>db.collection.name</c>.</summary>
    public const string CleanupPartitionsDropped = "sessionstore.cleanup.partitions_dropped";

    /// <summary>
    /// Counter: cleanup runs, tagged <c>db.collection.name</c> and <c>sessionstore.cleanup.outcome</c> (completed,
    /// skipped_locked, failed, cancelled).
    /// </summary>
    public const string CleanupRuns = "sessionstore.cleanup.runs";

    /// <summary>Histogram, seconds: cleanup runs that held the table's cleanup lock, tagged like <see cref="CleanupRuns"/>.</summary>
    public const string CleanupRunDuration = "sessionstore.cleanup.run.duration";

    /// <summary>Observable gauge: each store's circuit breaker in the dual-write cache, tagged <c>db.system.name</c>: 0 closed, 1 open, 2 half-open.</summary>
    public const string BreakerState = "sessionstore.dual_write.breaker.state";

    /// <summary>Observable up-down counter: keys a store missed writes for, waiting to be copied to it, tagged <c>db.system.name</c>.</summary>
    public const string CatchUpBacklog = "sessionstore.dual_write.catch_up.backlog";

    /// <summary>Counter: missed keys not remembered because the catch-up backlog was full, tagged <c>db.system.name</c>; run <c>sessionstore sync</c> when it grows.</summary>
    public const string CatchUpOverflow = "sessionstore.dual_write.catch_up.overflow";

    /// <summary>Counter: missed keys brought up to date in the store that missed them, tagged <c>db.system.name</c>.</summary>
    public const string CatchUpReplayed = "sessionstore.dual_write.catch_up.replayed";
}
