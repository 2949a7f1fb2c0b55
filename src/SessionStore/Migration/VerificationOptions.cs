namespace SessionStore.Migration;

/// <summary>What a <see cref="SessionStoreVerifier"/> run compares.</summary>
public sealed class VerificationOptions
{
    /// <summary>The default of <see cref="CountTolerance"/>: 1 %.</summary>
    public const double DefaultCountTolerance = 0.01;

    /// <summary>How many sessions of the primary store, chosen at random, are compared with the secondary.</summary>
    /// <value>Default 1,000. Zero or more; ignored when <see cref="Full"/> is set.</value>
    public int SampleSize { get; set; } = 1_000;

    /// <summary>Whether to compare every session of the primary store instead of a sample.</summary>
    /// <value>Default false.</value>
    public bool Full { get; set; }

    /// <summary>
    /// How far the live-session counts of the two stores may differ, as a fraction of the larger count (rounded up
    /// to whole sessions), before the verdict is "not ready". Counts taken a moment apart on a live system differ
    /// by the sessions created and expired in between; a larger gap means one store is missing sessions that a
    /// sample can easily miss.
    /// </summary>
    /// <value>Default 0.01 (1 %). From 0 to 1.</value>
    public double CountTolerance { get; set; } = DefaultCountTolerance;

    internal void ThrowIfInvalid()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(SampleSize);
        if (!(CountTolerance is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(CountTolerance), CountTolerance, "The count tolerance must be between 0 and 1 (a fraction of the larger count).");
        }
    }
}
