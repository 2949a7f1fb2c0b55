using HdrHistogram;

namespace SessionStore.Dashboard;

/// <summary>
/// Durations over the last few whole seconds: one HDR histogram per second in a ring, reused rather than
/// allocated, so that a dashboard left open costs no garbage per second.
/// </summary>
internal sealed class SlidingHistogram
{
    // Microseconds: store operations on loopback take tenths of a millisecond, so milliseconds would be too coarse.
    // Two significant digits (1 %) are plenty for a chart and keep each histogram at a few kilobytes.
    private const long HighestMicroseconds = 60_000_000;
    private const int SignificantDigits = 2;

    private readonly LongConcurrentHistogram[] _seconds;
    private readonly LongHistogram _window = new(1, HighestMicroseconds, SignificantDigits);
    private int _current;

    public SlidingHistogram(int windowSeconds)
    {
        // One more than the window: the second being recorded, which is not complete yet.
        _seconds = new LongConcurrentHistogram[windowSeconds + 1];
        for (var i = 0; i < _seconds.Length; i++)
        {
            _seconds[i] = new LongConcurrentHistogram(1, HighestMicroseconds, SignificantDigits);
        }
    }

    public void Record(double seconds) =>
        _seconds[Volatile.Read(ref _current)].RecordValue(Math.Clamp((long)(seconds * 1_000_000), 1, HighestMicroseconds));

    /// <summary>The last complete window, as <see cref="Advance"/> left it.</summary>
    public HistogramBase Window => _window;

    /// <summary>Closes the second in progress and sums the window that ends with it; once a second, by one caller at a time.</summary>
    public void Advance()
    {
        // The oldest second is emptied before it becomes the current one, so that no recording is wiped out.
        var next = (_current + 1) % _seconds.Length;
        _seconds[next].Reset();
        Volatile.Write(ref _current, next);

        _window.Reset();
        for (var i = 0; i < _seconds.Length; i++)
        {
            if (i != next)
            {
                _window.Add(_seconds[i]);
            }
        }
    }

    /// <summary>The median and 99th percentile of <paramref name="histogram"/> in milliseconds, zeros when it is empty.</summary>
    public static (long Count, double P50, double P99) Percentiles(HistogramBase histogram) =>
        histogram.TotalCount == 0
            ? (0, 0, 0)
            : (histogram.TotalCount, histogram.GetValueAtPercentile(50) / 1000.0, histogram.GetValueAtPercentile(99) / 1000.0);

    /// <summary>An empty histogram of the same range and precision, for sums of windows.</summary>
    public static LongHistogram CreateSum() => new(1, HighestMicroseconds, SignificantDigits);
}
