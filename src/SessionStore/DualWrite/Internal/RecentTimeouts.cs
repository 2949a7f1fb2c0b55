using System.Collections.Concurrent;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// The keys whose call to one store just timed out. A request loads and then commits one session: before the
/// store's breaker has opened, the commit would wait a second full timeout on the same hung store. A key that
/// timed out within the last few timeouts is not sent again, so a request waits one timeout, not two.
/// </summary>
internal sealed class RecentTimeouts(TimeProvider time)
{
    private const int Capacity = 10_000;
    private const int TimeoutsRemembered = 4;
    private readonly ConcurrentDictionary<string, long> _keys = new(StringComparer.Ordinal);

    public void Add(string key)
    {
        // Bounded: past the capacity the memory starts again, which only costs a second wait for those keys.
        if (_keys.Count >= Capacity)
        {
            _keys.Clear();
        }

        _keys[key] = time.GetTimestamp();
    }

    public bool Contains(string key, TimeSpan timeout)
    {
        if (_keys.IsEmpty || !_keys.TryGetValue(key, out var at))
        {
            return false;
        }

        if (time.GetElapsedTime(at) < TimeoutsRemembered * timeout)
        {
            return true;
        }

        _keys.TryRemove(new KeyValuePair<string, long>(key, at));
        return false;
    }
}
