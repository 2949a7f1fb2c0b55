using System.Diagnostics;
using System.Diagnostics.Metrics;
using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;

namespace SessionStore.Internal;

/// <summary>The instruments of <see cref="SessionStoreMetrics.MeterName"/>. Tags are low-cardinality: stores, operations, kinds — never keys.</summary>
internal sealed class SessionStoreInstruments : IDisposable
{
    private readonly Meter _meter;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _secondaryFailures;
    private readonly Counter<long> _readRepairs;
    private readonly Counter<long> _mismatches;
    private readonly Counter<long> _comparisons;
    private readonly Counter<long> _catchUpOverflow;
    private readonly Counter<long> _catchUpReplayed;
    private Func<IEnumerable<Measurement<int>>>? _breakerStates;
    private Func<IEnumerable<Measurement<long>>>? _catchUpBacklog;

    public SessionStoreInstruments(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(SessionStoreMetrics.MeterName) ?? new Meter(SessionStoreMetrics.MeterName);
        _duration = _meter.CreateHistogram<double>(SessionStoreMetrics.OperationDuration, "s", "Duration of session store operations.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _secondaryFailures = _meter.CreateCounter<long>(SessionStoreMetrics.SecondaryFailures, "{operation}", "Secondary store operations that failed or timed out.");
        _readRepairs = _meter.CreateCounter<long>(SessionStoreMetrics.ReadRepairs, "{entry}", "Entries copied from one store to the other.");
        _mismatches = _meter.CreateCounter<long>(SessionStoreMetrics.Mismatches, "{entry}", "Confirmed differences between the stores.");
        _comparisons = _meter.CreateCounter<long>(SessionStoreMetrics.Comparisons, "{entry}", "Sampled comparisons of a session's two copies that ended, by outcome.");
        _catchUpOverflow = _meter.CreateCounter<long>(SessionStoreMetrics.CatchUpOverflow, "{key}", "Missed keys not remembered for catch-up because the backlog was full.");
        _catchUpReplayed = _meter.CreateCounter<long>(SessionStoreMetrics.CatchUpReplayed, "{key}", "Missed keys copied to the store that missed them.");
        _meter.CreateObservableGauge(SessionStoreMetrics.BreakerState, () => _breakerStates?.Invoke() ?? [], "{state}", "Circuit breaker state per store: 0 closed, 1 open, 2 half-open.");
        _meter.CreateObservableUpDownCounter(SessionStoreMetrics.CatchUpBacklog, () => _catchUpBacklog?.Invoke() ?? [], "{key}", "Keys waiting to be copied to the store that missed their writes.");
    }

    /// <summary>Where the observable instruments read the dual-write cache's state from.</summary>
    public void ObserveDualWrite(Func<IEnumerable<Measurement<int>>> breakerStates, Func<IEnumerable<Measurement<long>>> catchUpBacklog)
    {
        _breakerStates = breakerStates;
        _catchUpBacklog = catchUpBacklog;
    }

    public static KeyValuePair<string, object?> StoreTag(string store) => new("db.system.name", store);

    public void CatchUpOverflowed(string store) => _catchUpOverflow.Add(1, StoreTag(store));

    public void CatchUpReplayed(string store) => _catchUpReplayed.Add(1, StoreTag(store));

    public void RecordDuration(string store, string operation, TimeSpan elapsed) =>
        _duration.Record(elapsed.TotalSeconds, new TagList { { "db.system.name", store }, { "db.operation.name", operation } });

    public void SecondaryFailed(string store, string operation) =>
        _secondaryFailures.Add(1, new TagList { { "db.system.name", store }, { "db.operation.name", operation } });

    public void Repaired(string store) => _readRepairs.Add(1, new KeyValuePair<string, object?>("db.system.name", store));

    public void Mismatch(SessionMismatchKind kind) => _mismatches.Add(1, new KeyValuePair<string, object?>("sessionstore.mismatch.kind", kind.ToString()));

    public void Compared(ComparisonOutcome outcome) => _comparisons.Add(1, new KeyValuePair<string, object?>("sessionstore.comparison.outcome", OutcomeTag(outcome)));

    private static string OutcomeTag(ComparisonOutcome outcome) => outcome switch
    {
        ComparisonOutcome.Equal => "equal",
        ComparisonOutcome.Mismatch => "mismatch",
        _ => "in_flux",
    };

    public void Dispose() => _meter.Dispose();
}
