using System.Numerics;

namespace SessionStore.Internal;

/// <summary>
/// Remembers what the last read of each key learned about its expiry, so that the <c>Refresh</c> the session
/// middleware sends after a <c>Get</c> of the same request can be answered without I/O when it would change
/// nothing. A stamp is used once. The memory is a fixed table indexed by the key's hash, so that no read
/// allocates: a key whose slot a later read of another key took is forgotten, which costs at worst one round
/// trip. Only the reads of requests still in flight need a slot, so a few thousand slots make that rare.
/// </summary>
internal sealed class RecentReads
{
    private const int LockStripes = 64;

    private readonly TimeProvider _time;
    private readonly double _touchThreshold;
    private readonly Stamp[] _stamps;
    private readonly Lock[] _locks;

    /// <param name="time">The clock that measures how long ago a key was read.</param>
    /// <param name="touchThreshold">The store's touch threshold, as in <see cref="ExpiryState.RefreshIsNoOp"/>.</param>
    /// <param name="capacity">Slots in the table, rounded up to a power of two.</param>
    public RecentReads(TimeProvider time, double touchThreshold, int capacity = 4_096)
    {
        _time = time;
        _touchThreshold = touchThreshold;
        _stamps = new Stamp[BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity))];
        _locks = new Lock[Math.Min(LockStripes, _stamps.Length)];
        for (var i = 0; i < _locks.Length; i++)
        {
            _locks[i] = new Lock();
        }
    }

    public void Record(string key, ExpiryState state)
    {
        var slot = SlotOf(key);
        lock (_locks[slot & (_locks.Length - 1)])
        {
            _stamps[slot] = new Stamp(key, _time.GetTimestamp(), state);
        }
    }

    /// <summary>True when a refresh of <paramref name="key"/> now would be a no-op in the store.</summary>
    public bool RefreshIsNoOp(string key) =>
        TryTake(key, out var stamp)
        && stamp.State.RefreshIsNoOp(_time.GetElapsedTime(stamp.Timestamp), _touchThreshold);

    public void Forget(string key) => _ = TryTake(key, out _);

    private bool TryTake(string key, out Stamp stamp)
    {
        var slot = SlotOf(key);
        lock (_locks[slot & (_locks.Length - 1)])
        {
            stamp = _stamps[slot];
            if (!string.Equals(stamp.Key, key, StringComparison.Ordinal))
            {
                return false;
            }

            _stamps[slot] = default;
            return true;
        }
    }

    private int SlotOf(string key) => StringComparer.Ordinal.GetHashCode(key) & (_stamps.Length - 1);

    private readonly record struct Stamp(string? Key, long Timestamp, ExpiryState State);
}
