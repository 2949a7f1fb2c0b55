namespace SessionStore.Cleanup.Internal;

/// <summary>When the hosted service runs; <c>unit</c> is a uniform random number in [0, 1).</summary>
internal static class CleanupSchedule
{
    /// <summary>The shortest wait between runs, whatever the options say: a zero or negative interval must never make the loop spin.</summary>
    public static readonly TimeSpan MinimumDelay = TimeSpan.FromSeconds(1);

    /// <summary>The longest back-off after failed runs, unless the interval itself is longer.</summary>
    public static readonly TimeSpan MaximumBackOff = TimeSpan.FromHours(1);

    /// <summary>The first run comes at a random moment within one interval, so a fleet restarted together spreads out.</summary>
    public static TimeSpan FirstDelay(TimeSpan interval, double unit) => interval * unit;

    /// <summary>Each later wait is the interval shortened or lengthened by up to <paramref name="jitter"/> of it; the mean stays one interval.</summary>
    public static TimeSpan NextDelay(TimeSpan interval, double jitter, double unit) => interval * (1 + (jitter * ((2 * unit) - 1)));

    /// <summary>
    /// After <paramref name="failuresInARow"/> failed runs (two or more) the wait doubles with each further failure, up to
    /// <see cref="MaximumBackOff"/> or the interval, whichever is longer: a server that is down is not asked again every second.
    /// </summary>
    public static TimeSpan BackOff(TimeSpan delay, TimeSpan interval, int failuresInARow)
    {
        var cap = interval > MaximumBackOff ? interval : MaximumBackOff;
        var factor = Math.Pow(2, Math.Min(failuresInARow - 1, 20));
        var longer = delay.TotalSeconds * factor;
        return longer >= cap.TotalSeconds ? cap : TimeSpan.FromSeconds(longer);
    }

    /// <summary>A delay <c>Task.Delay</c> accepts and that cannot spin: at least <see cref="MinimumDelay"/>, at most two days.</summary>
    public static TimeSpan Bounded(TimeSpan delay) =>
        delay < MinimumDelay ? MinimumDelay : delay > TimeSpan.FromDays(2) ? TimeSpan.FromDays(2) : delay;
}
