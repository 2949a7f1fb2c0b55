namespace SessionStore.Cleanup.Internal;

/// <summary>When the hosted service runs; <c>unit</c> is a uniform random number in [0, 1).</summary>
internal static class CleanupSchedule
{
    /// <summary>The first run comes at a random moment within one interval, so a fleet restarted together spreads out.</summary>
    public static TimeSpan FirstDelay(TimeSpan interval, double unit) => interval * unit;

    /// <summary>Each later wait is the interval shortened or lengthened by up to <paramref name="jitter"/> of it; the mean stays one interval.</summary>
    public static TimeSpan NextDelay(TimeSpan interval, double jitter, double unit) => interval * (1 + (jitter * ((2 * unit) - 1)));
}
