using System.Numerics;

namespace SessionStore.Internal;

/// <summary>
/// What a request's read learned about a key, kept for the same request's next call (the <c>Refresh</c> the session
/// middleware sends after its <c>Get</c>) and used once. A fixed table indexed by the key's hash, so that no read
/// allocates: a key whose slot a later read of another key took is forgotten, which costs at worst the round trip
/// the stamp would have saved. Only the reads of requests still in flight need a slot, so a few thousand slots
/// make that rare.
/// </summary>
/// <typeparam name="TStamp">What is remembered of a read.</typeparam>
internal sealed class StampTable<TStamp>
    where TStamp : struct
{
    private const int LockStripes = 64;

    private readonly Slot[] _slots;
    private readonly Lock[] _locks;

    /// <param name="capacity">Slots in the table, rounded up to a power of two.</param>
    public StampTable(int capacity = 4_096)
    {
        _slots = new Slot[BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity))];
        _locks = new Lock[Math.Min(LockStripes, _slots.Length)];
        for (var i = 0; i < _locks.Length; i++)
        {
            _locks[i] = new Lock();
        }
    }

    public void Record(string key, TStamp stamp)
    {
        var slot = SlotOf(key);
        lock (_locks[slot & (_locks.Length - 1)])
        {
            _slots[slot] = new Slot(key, stamp);
        }
    }

    /// <summary>The stamp recorded for <paramref name="key"/>, removed; false when there is none.</summary>
    public bool TryTake(string key, out TStamp stamp)
    {
        var slot = SlotOf(key);
        lock (_locks[slot & (_locks.Length - 1)])
        {
            var found = _slots[slot];
            if (!string.Equals(found.Key, key, StringComparison.Ordinal))
            {
                stamp = default;
                return false;
            }

            _slots[slot] = default;
            stamp = found.Stamp;
            return true;
        }
    }

    public void Forget(string key) => _ = TryTake(key, out _);

    private int SlotOf(string key) => StringComparer.Ordinal.GetHashCode(key) & (_slots.Length - 1);

    private readonly record struct Slot(string? Key, TStamp Stamp);
}
