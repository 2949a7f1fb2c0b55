namespace SessionStore.Cleanup;

/// <summary>What one cleanup run did.</summary>
public sealed class PostgresCleanupResult
{
    internal PostgresCleanupResult(bool skippedBecauseLocked, long rowsDeleted, int batches, int partitionsCreated, int partitionsDropped, bool reachedMaximumRunTime, TimeSpan duration)
    {
        SkippedBecauseLocked = skippedBecauseLocked;
        RowsDeleted = rowsDeleted;
        Batches = batches;
        PartitionsCreated = partitionsCreated;
        PartitionsDropped = partitionsDropped;
        ReachedMaximumRunTime = reachedMaximumRunTime;
        Duration = duration;
    }

    /// <summary>True when another instance was cleaning the table, so this run did nothing.</summary>
    public bool SkippedBecauseLocked { get; }

    /// <summary>Rows deleted one by one (rows in dropped partitions are not counted here).</summary>
    public long RowsDeleted { get; }

    /// <summary>How many delete transactions ran.</summary>
    public int Batches { get; }

    /// <summary>Partitions created ahead of time (partitioned tables only).</summary>
    public int PartitionsCreated { get; }

    /// <summary>Partitions dropped because every row they can hold had expired (partitioned tables only).</summary>
    public int PartitionsDropped { get; }

    /// <summary>True when the run stopped at <see cref="PostgresCleanupOptions.MaximumRunTime"/> with work possibly left.</summary>
    public bool ReachedMaximumRunTime { get; }

    /// <summary>How long the run took.</summary>
    public TimeSpan Duration { get; }
}
