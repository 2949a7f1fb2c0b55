using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;
using SessionStore.Internal;

namespace SessionStore.Migration.Internal;

/// <summary>
/// The dual-write cache's comparison, as the migration tools apply it to copies they make themselves. A copy of a
/// sliding session can only be written with a fresh window (neither store can be told "sliding 20 minutes, 5 left"
/// through its writes), so a copy that outlives its source by no more than that window is what a copy looks like,
/// and what the source's next request would give it anyway: not a mismatch, and not a reason to copy it again.
/// </summary>
internal static class CopyComparison
{
    public static SessionMismatchKind? Classify(StoredEntry primary, StoredEntry? secondary, TimeSpan expiryTolerance)
    {
        var kind = SessionComparison.Classify(primary, secondary, expiryTolerance);
        return kind == SessionMismatchKind.ExpiryDiffers && IsFreshWindowCopy(primary.Expiry, secondary!.Expiry, expiryTolerance) ? null : kind;
    }

    // Under the same cap: a copy that lost it outlives its source for as long as it is used. And no longer than the
    // source's next request would give it: a whole window, unless the source's cap comes sooner (a copy with a fresh
    // window beside a source 3 minutes from its cap kept a signed-in user 17 minutes past it, or days with a later cap).
    private static bool IsFreshWindowCopy(ExpiryState primary, ExpiryState secondary, TimeSpan tolerance) =>
        primary.EffectiveSliding is { } window && secondary.EffectiveSliding == window
        && SessionComparison.SameKindOfExpiry(primary, secondary, tolerance)
        && primary.Remaining is { } left && secondary.Remaining is { } copyLeft
        && primary.ExtendedAt(TimeSpan.Zero) is { } nextRequestGives
        && copyLeft >= left && copyLeft <= nextRequestGives + tolerance;
}
