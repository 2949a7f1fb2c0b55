namespace SessionStore.Internal;

/// <summary>
/// Remembers what the last read of each key learned about its expiry, so that the <c>Refresh</c> the session
/// middleware sends after a <c>Get</c> of the same request can be answered without I/O when it would change
/// nothing. A stamp is used once (<see cref="StampTable{TStamp}"/>).
/// </summary>
internal sealed class RecentReads(TimeProvider time, double touchThreshold, int capacity = 4_096)
{
    private readonly StampTable<Stamp> _stamps = new(capacity);

    public void Record(string key, ExpiryState state) => _stamps.Record(key, new Stamp(time.GetTimestamp(), state));

    /// <summary>True when a refresh of <paramref name="key"/> now would be a no-op in the store.</summary>
    public bool RefreshIsNoOp(string key) =>
        _stamps.TryTake(key, out var stamp)
        && stamp.State.RefreshIsNoOp(time.GetElapsedTime(stamp.Timestamp), touchThreshold);

    public void Forget(string key) => _stamps.Forget(key);

    private readonly record struct Stamp(long Timestamp, ExpiryState State);
}
