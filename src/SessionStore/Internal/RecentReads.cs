using System.Collections.Concurrent;

namespace SessionStore.Internal;

/// <summary>
/// Remembers what the last read of each key learned about its expiry, so that the <c>Refresh</c> the session
/// middleware sends after a <c>Get</c> of the same request can be answered without I/O when it would change
/// nothing. A stamp is used once; the map is emptied when it grows past its capacity, which costs at worst
/// one round trip per forgotten key.
/// </summary>
internal sealed class RecentReads(TimeProvider time, double touchThreshold, int capacity = 10_000)
{
    private readonly ConcurrentDictionary<string, Stamp> _stamps = new(StringComparer.Ordinal);
    private int _recordedSinceClear;

    public void Record(string key, ExpiryState state)
    {
        if (Interlocked.Increment(ref _recordedSinceClear) > capacity)
        {
            _stamps.Clear();
            Interlocked.Exchange(ref _recordedSinceClear, 0);
        }

        _stamps[key] = new Stamp(time.GetTimestamp(), state);
    }

    /// <summary>True when a refresh of <paramref name="key"/> now would be a no-op in the store.</summary>
    public bool RefreshIsNoOp(string key) =>
        _stamps.TryRemove(key, out var stamp)
        && stamp.State.RefreshIsNoOp(time.GetElapsedTime(stamp.Timestamp), touchThreshold);

    public void Forget(string key) => _stamps.TryRemove(key, out _);

    private readonly record struct Stamp(long Timestamp, ExpiryState State);
}
