using System.Collections.Concurrent;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// The keys a store missed writes for (failed, timed out, or skipped while its breaker was open), so that they
/// can be copied to it from the other store once it answers again, and the users whose "log out everywhere" it
/// missed. Bounded: past the capacity a key is counted as overflow, not remembered, and the go/no-go check or
/// <c>sessionstore sync</c> has to find it; a revocation is not remembered either, and the revoke fails instead (sync
/// cannot find a revoked user's sessions).
/// </summary>
internal sealed class CatchUpBacklog(int capacity)
{
    // Each key carries the sequence number of its last miss (a key missed again while it is being copied stays),
    // and whether that miss was a remove. A miss that wrote nothing new (a refresh of the removed key, a write the
    // primary failed too) keeps the removal: the signed-out copy would stay, to be read-repaired back. A write the
    // primary took replaces it, so that a key the other store lost since (a Redis restarted empty) keeps its copy here.
    private readonly ConcurrentDictionary<string, Miss> _keys = new(StringComparer.Ordinal);
    // Held in memory only, never logged: a user id is often an e-mail address.
    private readonly ConcurrentDictionary<string, byte> _revocations = new(StringComparer.Ordinal);
    private long _sequence;
    private long _overflow;

    public int Count => _keys.Count;

    /// <summary>How many keys, and as many revoked users, it holds at most.</summary>
    public int Capacity => capacity;

    public long Overflow => Interlocked.Read(ref _overflow);

    /// <summary>Whether nothing waits: no key to copy, no revocation to make.</summary>
    public bool IsEmpty => _keys.IsEmpty && _revocations.IsEmpty;

    /// <summary>The users whose revocation the store missed; each is removed by <see cref="RevocationDone"/> once made.</summary>
    public IEnumerable<string> Revocations => _revocations.Select(r => r.Key);

    public int RevocationCount => _revocations.Count;

    public bool RevocationPending(string userId) => _revocations.ContainsKey(userId);

    /// <summary>Remembers that the store missed the revocation of <paramref name="userId"/>'s sessions; false when full.</summary>
    public bool AddRevocation(string userId)
    {
        if (_revocations.Count >= capacity && !_revocations.ContainsKey(userId))
        {
            return false;
        }

        _revocations.TryAdd(userId, 0);
        return true;
    }

    public void RevocationDone(string userId) => _revocations.TryRemove(userId, out _);

    /// <summary>
    /// Remembers <paramref name="key"/>, and whether the miss was a remove; a miss that <paramref name="keepsRemoval"/>
    /// (it wrote nothing new) keeps a removal missed before. False when the backlog is full and the key was counted as overflow.
    /// </summary>
    public bool Add(string key, bool removed = false, bool keepsRemoval = false)
    {
        if (_keys.Count >= capacity && !_keys.ContainsKey(key))
        {
            Interlocked.Increment(ref _overflow);
            return false;
        }

        var sequence = Interlocked.Increment(ref _sequence);
        _keys.AddOrUpdate(key, _ => new Miss(sequence, removed), (_, last) => new Miss(sequence, removed || (keepsRemoval && last.Removed)));
        return true;
    }

    /// <summary>Whether the store missed the removal of <paramref name="key"/> and still holds it until the catch-up removes it.</summary>
    public bool RemovalPending(string key) => _keys.TryGetValue(key, out var miss) && miss.Removed;

    /// <summary>The keys now in the backlog; each is removed by <see cref="Done"/> once copied.</summary>
    public IReadOnlyList<KeyValuePair<string, Miss>> Snapshot() => [.. _keys];

    /// <summary>
    /// Forgets a key the store has just taken a write (or removal) of as the primary, acknowledged: what it missed
    /// before is superseded, and a copy made from the other store now would undo that write.
    /// </summary>
    public void Superseded(string key) => _keys.TryRemove(key, out _);

    /// <summary>Forgets a key copied since the miss <paramref name="entry"/> recorded, unless it was missed again since.</summary>
    public void Done(KeyValuePair<string, Miss> entry) => _keys.TryRemove(entry);

    /// <summary>The last miss of a key: its order, and whether it was a remove (or a miss that kept one).</summary>
    public readonly record struct Miss(long Sequence, bool Removed);
}
