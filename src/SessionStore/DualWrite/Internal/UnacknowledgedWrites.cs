using System.Security.Cryptography;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// The values of primary writes that were sent but whose callers were told they failed (a timeout, a lost
/// connection): a hung server still applies the statement it holds when it resumes. Such a write takes its version
/// when it lands, after the writes the other store acknowledged since (the step away from the hung store), so by its
/// version it reads as the newest. Once the other store has acknowledged a write of the key, a copy holding such a
/// value is never taken as newer than the other store's (<see cref="SecondaryConvergence"/>): the catch-up would
/// otherwise copy it over the acknowledged write.
/// </summary>
/// <remarks>
/// Until the other store acknowledges a later write, versions decide as for any write: the same bytes may be an
/// acknowledged write too (a session rewritten unchanged). A store's values are forgotten when it acknowledges a
/// later write of the key itself. Bounded: past the capacity the oldest key is forgotten, as a late write older than
/// that many later failures is no longer on its way. Only digests are kept, enough to recognise a value.
/// </remarks>
internal sealed class UnacknowledgedWrites(int capacity)
{
    // A user clicking on while the server hangs sends a few; any of them may land last.
    private const int ValuesPerKey = 4;
    private readonly Dictionary<(StoreKind Kind, string Key), Failed> _failed = [];
    private readonly Lock _lock = new();
    // Keys in the order of their last failure; stale entries (a key forgotten, or failed again since) are skipped
    // when reached, and compacted away.
    private Queue<((StoreKind Kind, string Key) Key, long Order)> _order = new();
    private long _added;
    private volatile int _count;

    /// <summary>A write of <paramref name="value"/> to <paramref name="kind"/> was sent and failed: it may still land.</summary>
    public void Add(StoreKind kind, string key, ReadOnlySpan<byte> value)
    {
        if (capacity == 0)
        {
            return;
        }

        var digest = SHA256.HashData(value);
        lock (_lock)
        {
            if (!_failed.TryGetValue((kind, key), out var failed))
            {
                _failed[(kind, key)] = failed = new Failed();
            }

            failed.Order = ++_added;
            _order.Enqueue(((kind, key), failed.Order));
            EvictPastCapacity();

            if (failed.Values.Count == ValuesPerKey)
            {
                failed.Values.RemoveAt(0);
            }

            failed.Values.Add((digest, SupersededElsewhere: false));
            _count = _failed.Count;
        }
    }

    /// <summary>
    /// <paramref name="kind"/> acknowledged a write of <paramref name="key"/> as the primary: what it holds is that
    /// write's, and the values that failed in the other store before it are superseded.
    /// </summary>
    public void Acknowledged(StoreKind kind, string key)
    {
        // On every write: nothing to do, and no lock, while no write has failed.
        if (_count == 0)
        {
            return;
        }

        lock (_lock)
        {
            _failed.Remove((kind, key));
            if (_failed.TryGetValue((PhaseRoles.Other(kind), key), out var other))
            {
                for (var i = 0; i < other.Values.Count; i++)
                {
                    other.Values[i] = other.Values[i] with { SupersededElsewhere = true };
                }
            }

            _count = _failed.Count;
        }
    }

    /// <summary>
    /// Whether <paramref name="entry"/>, read from <paramref name="kind"/>, is the value of a write its caller was told
    /// failed, landed after a write the other store acknowledged since.
    /// </summary>
    public bool IsLate(StoreKind kind, string key, StoredEntry? entry)
    {
        if (entry is null || _count == 0)
        {
            return false;
        }

        var digest = SHA256.HashData(entry.Value);
        lock (_lock)
        {
            return _failed.TryGetValue((kind, key), out var failed)
                && failed.Values.Exists(v => v.SupersededElsewhere && v.Digest.AsSpan().SequenceEqual(digest));
        }
    }

    private void EvictPastCapacity()
    {
        while (_failed.Count > capacity && _order.TryDequeue(out var oldest))
        {
            if (_failed.TryGetValue(oldest.Key, out var failed) && failed.Order == oldest.Order)
            {
                _failed.Remove(oldest.Key);
            }
        }

        // Forgotten keys leave their entries behind: past twice the capacity, keep only the live ones.
        if (_order.Count > 2 * capacity)
        {
            _order = new Queue<((StoreKind, string), long)>(_order.Where(o => _failed.TryGetValue(o.Key, out var f) && f.Order == o.Order));
        }
    }

    private sealed class Failed
    {
        public long Order { get; set; }

        public List<(byte[] Digest, bool SupersededElsewhere)> Values { get; } = new(1);
    }
}
