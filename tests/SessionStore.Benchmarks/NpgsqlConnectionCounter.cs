using System.Diagnostics.Metrics;

namespace SessionStore.Benchmarks;

/// <summary>Counts the physical connections Npgsql opens, from its own metrics (each opening records a create time).</summary>
internal sealed class NpgsqlConnectionCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _opened;

    public NpgsqlConnectionCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Npgsql" && instrument.Name.Contains("create_time", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _opened));
        _listener.Start();
    }

    public long Opened => Interlocked.Read(ref _opened);

    public void Dispose() => _listener.Dispose();
}
