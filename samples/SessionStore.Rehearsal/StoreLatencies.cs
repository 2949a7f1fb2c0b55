using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using HdrHistogram;

namespace SessionStore.Rehearsal;

/// <summary>
/// Collects <see cref="SessionStoreMetrics.OperationDuration"/> per store (<c>db.system.name</c>) into HDR
/// histograms, one set per phase. Only the instruments of one application's meter factory are listened to:
/// other SessionStore caches in the same process (tests run side by side) are left out.
/// </summary>
internal sealed class StoreLatencies : IDisposable
{
    // Microseconds: store operations on loopback take tenths of a millisecond, so milliseconds would be too coarse.
    private const long HighestMicroseconds = 60_000_000;

    private readonly MeterListener _listener = new();
    private ConcurrentDictionary<string, LongConcurrentHistogram> _current = new();

    public StoreLatencies(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == scope && instrument.Meter.Name == SessionStoreMetrics.MeterName && instrument.Name == SessionStoreMetrics.OperationDuration)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) => Record(seconds, tags));
        _listener.Start();
    }

    /// <summary>Starts a new set of histograms and returns the percentiles of the set it replaces, by store.</summary>
    public IReadOnlyDictionary<string, Latency> Restart()
    {
        var finished = Interlocked.Exchange(ref _current, new ConcurrentDictionary<string, LongConcurrentHistogram>());
        return finished.ToDictionary(
            entry => entry.Key,
            entry => new Latency(entry.Value.TotalCount, entry.Value.GetValueAtPercentile(50) / 1000.0, entry.Value.GetValueAtPercentile(99) / 1000.0));
    }

    public void Dispose() => _listener.Dispose();

    private void Record(double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag is { Key: "db.system.name", Value: string store })
            {
                var histogram = _current.GetOrAdd(store, _ => new LongConcurrentHistogram(1, HighestMicroseconds, 3));
                histogram.RecordValue(Math.Clamp((long)(seconds * 1_000_000), 1, HighestMicroseconds));
                return;
            }
        }
    }
}
