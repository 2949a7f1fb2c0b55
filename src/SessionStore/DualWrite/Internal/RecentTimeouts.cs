using System.Collections.Concurrent;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// The keys whose call to a store just timed out, per store. A request loads and then commits one session: before
/// the store's breaker has opened, the commit would wait a second full timeout on the same hung store. A key that
/// timed out on a store within the last few timeouts is not sent to that store again, so a request waits one
/// timeout, not two. The other store is not held back (after a switch to it, it answers those sessions at once),
/// and a store that answers any call again is trusted with every key at once.
/// </summary>
internal sealed class RecentTimeouts(TimeProvider time)
{
    private const int Capacity = 10_000;
    private const int TimeoutsRemembered = 4;
    private readonly StoreKeys _redis = new();
    private readonly StoreKeys _postgres = new();

    public void Add(StoreKind store, string key)
    {
        var memory = Of(store);
        // Bounded: past the capacity the memory starts again, which only costs a second wait for those keys.
        if (memory.Keys.Count >= Capacity)
        {
            memory.Keys.Clear();
        }

        memory.Keys[key] = time.GetTimestamp();
        memory.Any = true;
    }

    public bool Contains(StoreKind store, string key, TimeSpan timeout)
    {
        var memory = Of(store);
        if (!memory.Any || !memory.Keys.TryGetValue(key, out var at))
        {
            return false;
        }

        if (time.GetElapsedTime(at) < TimeoutsRemembered * timeout)
        {
            return true;
        }

        memory.Keys.TryRemove(new KeyValuePair<string, long>(key, at));
        return false;
    }

    /// <summary>A call to <paramref name="store"/> succeeded: it answers again, so no key waits on its past timeouts.</summary>
    public void Answered(StoreKind store)
    {
        var memory = Of(store);
        if (memory.Any)
        {
            // A key added meanwhile may be cleared too: that costs it a second wait, nothing else.
            memory.Any = false;
            memory.Keys.Clear();
        }
    }

    private StoreKeys Of(StoreKind store) => store == StoreKind.Redis ? _redis : _postgres;

    /// <summary>
    /// One store's keys, and whether it may hold any: checked on every call, so a store that never timed out costs a
    /// field read (the dictionary's own emptiness check takes all its locks when it is empty).
    /// </summary>
    private sealed class StoreKeys
    {
        public ConcurrentDictionary<string, long> Keys { get; } = new(StringComparer.Ordinal);

        public volatile bool Any;
    }
}
