using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Internal;

/// <summary>
/// What a read learned about an entry's lifetime, all measured from the moment of the read:
/// the time left before it expires, its sliding window and the time left before its absolute cap.
/// Null means "none" (never expires, no sliding, no cap).
/// </summary>
internal readonly record struct ExpiryState(TimeSpan? Remaining, TimeSpan? Sliding, TimeSpan? AbsoluteRemaining)
{
    /// <summary>
    /// Whether a refresh sent <paramref name="elapsed"/> after the read would change nothing, given that a
    /// store extends a sliding expiry only once it has fallen more than <paramref name="touchThreshold"/>
    /// of the window behind.
    /// </summary>
    public bool RefreshIsNoOp(TimeSpan elapsed, double touchThreshold) =>
        Sliding is not { } sliding || Remaining is not { } remaining || elapsed >= remaining // nothing slides, or gone by then
        || ExtendedAt(elapsed) - remaining <= sliding * touchThreshold;

    /// <summary>The remaining lifetime a touch <paramref name="elapsed"/> after the read would set: the window, capped.</summary>
    public TimeSpan? ExtendedAt(TimeSpan elapsed) =>
        Sliding is { } sliding ? (AbsoluteRemaining is { } cap && cap < elapsed + sliding ? cap : elapsed + sliding) : null;

    /// <summary>
    /// The sliding window, if the entry can slide: a window of zero or less (written by hand, or by another client)
    /// cannot, so the entry lives out its time left, and so does its copy (the entry options would refuse it, failing
    /// the copy of a whole batch).
    /// </summary>
    public TimeSpan? EffectiveSliding => Sliding > TimeSpan.Zero ? Sliding : null;

    /// <summary>Whether the entry has an absolute cap: one at <see cref="EntryExpiration.MaximumLifetime"/> or beyond means none, as on writes.</summary>
    public bool HasCap => AbsoluteRemaining is { } cap && cap < EntryExpiration.MaximumLifetime;

    /// <summary>
    /// Entry options that give a copy written now the lifetime the entry has: its sliding window under its
    /// absolute cap, or its remaining time. Null when the entry has no time left.
    /// </summary>
    public DistributedCacheEntryOptions? ToEntryOptions()
    {
        if (Remaining is { } remaining && remaining <= TimeSpan.Zero)
        {
            return null;
        }

        var options = new DistributedCacheEntryOptions { SlidingExpiration = EffectiveSliding };
        var cap = EffectiveSliding is null ? Remaining : AbsoluteRemaining;
        if (cap is { } relative)
        {
            if (relative <= TimeSpan.Zero)
            {
                return null;
            }

            options.AbsoluteExpirationRelativeToNow = relative;
        }

        return options;
    }
}
