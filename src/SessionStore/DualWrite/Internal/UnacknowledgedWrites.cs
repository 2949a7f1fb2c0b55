using System.Security.Cryptography;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// The values of primary writes whose callers were told they failed (a timeout, a lost connection) but which the
/// server may still apply: a hung server runs the statement it holds when it resumes. Such a write takes its version
/// when it lands, after writes made since in the other store (the step away from the hung store), so by its version
/// it reads as the newest. A store's copy that is such a value is never taken as newer than the other store's
/// (<see cref="SecondaryConvergence"/>): the catch-up would otherwise copy it over the acknowledged write.
/// </summary>
/// <remarks>
/// A value is forgotten when the store acknowledges a later write of the key. Bounded: past the capacity the
/// oldest is forgotten, as a late write older than that many later failures is no longer on its way. Only a digest
/// of each value is kept, enough to recognise it.
/// </remarks>
internal sealed class UnacknowledgedWrites(int capacity)
{
    private readonly Dictionary<(StoreKind Kind, string Key), (byte[] Digest, long Order)> _writes = [];
    private readonly Lock _lock = new();
    private long _added;
    private volatile int _count;

    /// <summary>A write of <paramref name="value"/> to <paramref name="kind"/> failed, and may still land.</summary>
    public void Add(StoreKind kind, string key, ReadOnlySpan<byte> value)
    {
        var digest = SHA256.HashData(value);
        lock (_lock)
        {
            if (_writes.Count >= capacity && !_writes.ContainsKey((kind, key)))
            {
                // A scan, but only while failures outnumber the capacity.
                _writes.Remove(_writes.MinBy(w => w.Value.Order).Key);
            }

            _writes[(kind, key)] = (digest, ++_added);
            _count = _writes.Count;
        }
    }

    /// <summary><paramref name="kind"/> acknowledged a later write of <paramref name="key"/>: what it holds is that write's.</summary>
    public void Forget(StoreKind kind, string key)
    {
        // On every write: nothing to do, and no lock, while no write has failed.
        if (_count == 0)
        {
            return;
        }

        lock (_lock)
        {
            _writes.Remove((kind, key));
            _count = _writes.Count;
        }
    }

    /// <summary>Whether <paramref name="entry"/>, read from <paramref name="kind"/>, is the value of a write its caller was told failed.</summary>
    public bool IsUnacknowledged(StoreKind kind, string key, StoredEntry? entry)
    {
        if (entry is null || _count == 0)
        {
            return false;
        }

        (byte[] Digest, long Order) write;
        lock (_lock)
        {
            if (!_writes.TryGetValue((kind, key), out write))
            {
                return false;
            }
        }

        return SHA256.HashData(entry.Value).AsSpan().SequenceEqual(write.Digest);
    }
}
