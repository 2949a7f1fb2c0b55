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
    /// Counter: cleanup runs that failed, tagged <c>db.collection.name</c> (the table) and <c>error.type</c> (the
    /// exception's type, e.g. <c>Npgsql.NpgsqlException</c> while PostgreSQL is unreachable).
    /// </summary>
    public const string CleanupFailures = "sessionstore.cleanup.failures";

    /// <summary>Observable gauge: each store's circuit breaker in the dual-write cache, tagged <c>db.system.name</c>: 0 closed, 1 open, 2 half-open.</summary>
    public const string BreakerState = "sessionstore.dual_write.breaker.state";

    /// <summary>Observable up-down counter: keys a store missed writes for, waiting to be copied to it, tagged <c>db.system.name</c>.</summary>
    public const string CatchUpBacklog = "sessionstore.dual_write.catch_up.backlog";

    /// <summary>Counter: missed keys not remembered because the catch-up backlog was full, tagged <c>db.system.name</c>; run <c>sessionstore sync</c> when it grows.</summary>
    public const string CatchUpOverflow = "sessionstore.dual_write.catch_up.overflow";

    /// <summary>Counter: missed keys brought up to date in the store that missed them, tagged <c>db.system.name</c>.</summary>
    public const string CatchUpReplayed = "sessionstore.dual_write.catch_up.replayed";
}
