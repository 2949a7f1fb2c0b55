using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Decides, in a dual phase, when a read-only request must reach the secondary: only when the primary extended
/// (touched) the session's sliding expiry. Then the secondary is touched too, without a threshold and after the
/// primary, so its copy never expires before the primary's; otherwise a read-only request costs the primary alone.
/// </summary>
/// <remarks>
/// The primary's read reports the entry's lifetime. After a touch a store reports the full window; with no touch
/// due it reports less than the window by more than a few milliseconds and at most by the touch threshold. A
/// store that reported the lifetime from before its touch would report one behind by more than the threshold:
/// that counts as touched too, so the rule holds whichever way a store reports. The read's lifetime is also
/// remembered (from before the read was sent, so the estimate errs towards "due"), and the <c>Refresh</c> the
/// session middleware sends after it skips both stores while neither would change.
/// </remarks>
internal sealed class SecondaryTouches(TimeProvider time, int capacity = 4_096)
{
    // A store's report right after its touch is the window to the millisecond (Redis floors a capped TTL). A read
    // within this of a write or touch by another request counts as touched too: a harmless extra touch.
    private static readonly TimeSpan JustTouched = TimeSpan.FromMilliseconds(2);

    private readonly StampTable<Stamp> _stamps = new(capacity);

    /// <summary>Whether the primary's read that returned <paramref name="state"/> may have extended the expiry.</summary>
    public static bool PrimaryMayHaveTouched(ExpiryState state, double touchThreshold)
    {
        if (state.Sliding is not { } sliding || state.Remaining is not { } remaining || state.ExtendedAt(TimeSpan.Zero) is not { } full)
        {
            return false;
        }

        var behind = full - remaining;
        return behind <= JustTouched || behind > sliding * touchThreshold;
    }

    /// <summary>Remembers the primary's read of <paramref name="key"/>, sent at <paramref name="sentAt"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public void Record(string key, StoreKind primary, long sentAt, ExpiryState state) => _stamps.Record(key, new Stamp(primary, sentAt, state));

    /// <summary>
    /// True when a refresh of <paramref name="key"/> now would change neither store: the last read by the same
    /// primary showed the touch not due, even counted from before that read. Each read answers one refresh.
    /// </summary>
    public bool RefreshIsNoOp(string key, StoreKind primary, double touchThreshold)
    {
        if (!_stamps.TryTake(key, out var stamp) || stamp.Primary != primary)
        {
            return false;
        }

        if (stamp.State.Sliding is not { } sliding || stamp.State.Remaining is not { } remaining)
        {
            // Nothing slides: a refresh changes nothing in either store.
            return stamp.State.Sliding is null;
        }

        var elapsed = time.GetElapsedTime(stamp.SentAt);
        return elapsed < remaining && stamp.State.ExtendedAt(elapsed) - remaining <= sliding * touchThreshold;
    }

    public void Forget(string key) => _stamps.Forget(key);

    private readonly record struct Stamp(StoreKind Primary, long SentAt, ExpiryState State);
}
