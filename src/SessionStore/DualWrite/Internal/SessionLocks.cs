using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// One session's turn at both stores in this instance, in a dual phase: a write (set, refresh, remove) runs in the
/// primary and then the secondary before the next write of the same key starts, and a read repair, a comparison or
/// the catch-up copies between the stores only between two writes. Without it, a remove racing a set could leave the set's copy in one store and
/// none in the other, and a read that missed in the primary between a remove's two stores copied the secondary's
/// copy back: read repair then brought a signed-out session back. Instances of a fleet do not share these turns
/// (see docs/migration-guide.md).
/// </summary>
/// <remarks>
/// A turn waits at most as long as the write before it may take: the primary's
/// <see cref="SessionCacheProviderOptions.OperationTimeout"/> plus <see cref="SessionStoreOptions.SecondaryTimeout"/>.
/// In practice it waits one of the two, not both: a primary that timed out fails the next calls for the key at once
/// (<see cref="PrimaryCalls"/>), and a secondary that timed out is skipped for it (<see cref="SecondaryCalls"/>), so
/// a request behind a hung secondary still returns within about <see cref="SessionStoreOptions.SecondaryTimeout"/>.
/// Only keys with a turn held or awaited are kept.
/// </remarks>
internal sealed class SessionLocks(Func<SessionStoreOptions> options)
{
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Waits for <paramref name="key"/>'s turn; dispose the result to end it.</summary>
    public async ValueTask<Turn> EnterAsync(string key, ISessionCacheProvider primary, string operation, bool async, CancellationToken token)
    {
        Gate? gate;
        lock (_lock)
        {
            if (!_gates.TryGetValue(key, out gate))
            {
                _gates[key] = gate = new Gate();
            }

            gate.Users++;
        }

        var entered = false;
        try
        {
            var timeout = primary.OperationTimeout + options().SecondaryTimeout;
            entered = async ? await gate.Semaphore.WaitAsync(timeout, token).ConfigureAwait(false) : gate.Semaphore.Wait(timeout, token);
            return entered
                ? new Turn(this, key, gate)
                : throw new SessionStoreTimeoutException(primary.Name, operation, timeout, "a session whose previous write in this instance, to both stores, is still under way", innerException: null);
        }
        finally
        {
            if (!entered)
            {
                Leave(key, gate);
            }
        }
    }

    /// <summary>Keys with a turn held or awaited, for tests: none once every call has ended.</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _gates.Count;
            }
        }
    }

    private void Leave(string key, Gate gate)
    {
        lock (_lock)
        {
            if (--gate.Users == 0)
            {
                _gates.Remove(key);
            }
        }
    }

    /// <summary>A key's turn, held until disposed.</summary>
    public readonly struct Turn(SessionLocks owner, string key, Gate gate) : IDisposable
    {
        public void Dispose()
        {
            gate.Semaphore.Release();
            owner.Leave(key, gate);
        }
    }

    /// <summary>A key's semaphore, and how many calls hold or await it.</summary>
    internal sealed class Gate
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
    }
}
