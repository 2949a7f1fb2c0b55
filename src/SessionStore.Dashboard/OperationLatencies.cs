using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using HdrHistogram;

namespace SessionStore.Dashboard;

/// <summary>
/// Each store operation's duration (<see cref="SessionStoreMetrics.OperationDuration"/>) over a sliding window of
/// whole seconds, per store and operation, listened to in-process. Only the application's own meter factory is
/// listened to, so that other SessionStore caches in the same process (tests side by side) stay out of it.
/// </summary>
internal sealed class OperationLatencies : IDisposable
{
    /// <summary>How many whole seconds the percentiles cover: one second of traffic is too little to give a stable p99.</summary>
    public const int WindowSeconds = 5;

    /// <summary>The <see cref="OperationLatency.Operation"/> of a store's operations together.</summary>
    public const string AllOperations = "all";

    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, LongHistogram> _stores = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Store, string Operation), SlidingHistogram> _operations = new();

    /// <summary>Starts listening.</summary>
    /// <param name="scope">The application's meter factory, the one the cache's instruments were created by.</param>
    public OperationLatencies(IMeterFactory scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
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

    /// <summary>Closes the second in progress and returns the window that ends with it; once a second, by one caller at a time.</summary>
    /// <returns>
    /// Every store and operation seen since start-up with its percentiles over the window (zero counts when idle),
    /// and each store's operations together.
    /// </returns>
    public (IReadOnlyList<OperationLatency> Operations, IReadOnlyList<OperationLatency> Stores) Advance()
    {
        var operations = new List<OperationLatency>();
        foreach (var sum in _stores.Values)
        {
            sum.Reset();
        }

        foreach (var ((store, operation), histogram) in _operations.OrderBy(entry => entry.Key))
        {
            histogram.Advance();
            var (count, p50, p99) = SlidingHistogram.Percentiles(histogram.Window);
            operations.Add(new OperationLatency(store, operation, count, p50, p99));
            var storeSum = _stores.TryGetValue(store, out var existing) ? existing : _stores[store] = SlidingHistogram.CreateSum();
            storeSum.Add(histogram.Window);
        }

        var stores = new List<OperationLatency>();
        foreach (var (store, sum) in _stores.OrderBy(entry => entry.Key, StringComparer.Ordinal))
        {
            var (count, p50, p99) = SlidingHistogram.Percentiles(sum);
            stores.Add(new OperationLatency(store, AllOperations, count, p50, p99));
        }

        return (operations, stores);
    }

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();

    private void Record(double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? store = null;
        string? operation = null;
        foreach (var tag in tags)
        {
            switch (tag)
            {
                case { Key: "db.system.name", Value: string name }:
                    store = name;
                    break;
                case { Key: "db.operation.name", Value: string name }:
                    operation = name;
                    break;
            }
        }

        if (store is not null && operation is not null)
        {
            _operations.GetOrAdd((store, operation), _ => new SlidingHistogram(WindowSeconds)).Record(seconds);
        }
    }
}
