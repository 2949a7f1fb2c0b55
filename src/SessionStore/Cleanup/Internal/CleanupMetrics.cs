using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SessionStore.Cleanup.Internal;

/// <summary>The cleanup instruments, tagged with the table only: its name is the one label of low cardinality here.</summary>
internal sealed class CleanupMetrics
{
    // Without a meter factory (no DI, as in a CLI) every cleaner reports on one process-wide meter.
    private static readonly Meter SharedMeter = new(SessionStoreMetrics.MeterName);

    private readonly Counter<long> _rowsDeleted;
    private readonly Counter<long> _batches;
    private readonly Counter<long> _partitionsDropped;
    private readonly Counter<long> _runs;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _duration;
    private readonly KeyValuePair<string, object?> _table;

    public CleanupMetrics(IMeterFactory? meterFactory, string table)
    {
        var meter = meterFactory?.Create(SessionStoreMetrics.MeterName) ?? SharedMeter;
        _table = new KeyValuePair<string, object?>("db.collection.name", table);
        _rowsDeleted = meter.CreateCounter<long>(SessionStoreMetrics.CleanupRowsDeleted, "{row}", "Expired session rows deleted by cleanup batches.");
        _batches = meter.CreateCounter<long>(SessionStoreMetrics.CleanupBatches, "{batch}", "Cleanup delete batches (one transaction each).");
        _partitionsDropped = meter.CreateCounter<long>(SessionStoreMetrics.CleanupPartitionsDropped, "{partition}", "Partitions dropped because every row they can hold had expired.");
        _runs = meter.CreateCounter<long>(SessionStoreMetrics.CleanupRuns, "{run}",
            "Cleanup runs by outcome: completed, skipped_locked (another instance held the table's cleanup lock), failed, cancelled.");
        _failures = meter.CreateCounter<long>(SessionStoreMetrics.CleanupFailures, "{run}",
            "Cleanup runs that failed, by exception type (error.type): PostgreSQL unreachable, a statement timing out, the table missing.");
        _duration = meter.CreateHistogram<double>(SessionStoreMetrics.CleanupRunDuration, "s", "Duration of cleanup runs that held the table's cleanup lock.");
    }

    public void BatchDeleted(long rows)
    {
        _batches.Add(1, _table);
        _rowsDeleted.Add(rows, _table);
    }

    public void Failed(Exception exception) =>
        _failures.Add(1, _table, new KeyValuePair<string, object?>("error.type", exception.GetType().FullName));

    public void PartitionsDropped(int count) => _partitionsDropped.Add(count, _table);

    public void Run(string outcome, TimeSpan? duration = null)
    {
        var tags = new TagList { _table, { "sessionstore.cleanup.outcome", outcome } };
        _runs.Add(1, tags);
        if (duration is { } elapsed)
        {
            _duration.Record(elapsed.TotalSeconds, tags);
        }
    }
}
