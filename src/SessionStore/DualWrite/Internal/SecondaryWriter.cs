using System.Collections.Concurrent;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// The one place a request's write reaches the secondary store: after the primary's, bounded, never thrown
/// (see <see cref="SecondaryCalls"/>). A write that does not land is remembered for <see cref="CatchUp"/>, which
/// copies the primary's entry over once the secondary answers, so the secondary ends with the primary's last write.
/// </summary>
/// <remarks>
/// A write given up on (it outlasted <see cref="SessionStoreOptions.SecondaryTimeout"/>, or the caller cancelled) is
/// abandoned, not stopped (<see cref="Bounded"/>), and may still land, after the session's next writes: a sign-out's
/// removal found nothing to delete, then the late sign-in landed, and read repair brought the session back. So when
/// a late write lands, its key goes to the catch-up again, as removed if the session's last write through this
/// instance since then was a removal.
/// </remarks>
internal sealed class SecondaryWriter(SecondaryCalls calls, CatchUp catchUp)
{
    private readonly ConcurrentDictionary<(StoreKind Kind, string Key), LateWrites> _late = new();

    public async Task WriteAsync(Route route, string key, string operation, Func<ISessionCacheProvider, CancellationToken, ValueTask> write, CancellationToken token)
    {
        var kind = route.SecondaryKind!.Value;
        var removes = operation == "remove";
        if (operation != "refresh" && _late.TryGetValue((kind, key), out var pending))
        {
            pending.RemovedSince = removes;
        }

        var call = new Call(this, kind, key, removes, write);
        try
        {
            if (!await calls.TryRunAsync(route.Secondary!, kind, operation, key, call.RunAsync, token).ConfigureAwait(false))
            {
                catchUp.Missed(kind, key, removed: removes, keepsRemoval: operation == "refresh");
                call.GiveUp();
            }
        }
        catch (OperationCanceledException)
        {
            // The caller gave up after the primary was written: the secondary's copy is brought up to date later.
            catchUp.Missed(kind, key, removed: removes, keepsRemoval: operation == "refresh");
            call.GiveUp();
            throw;
        }
    }

    /// <summary>Keys with a late write on its way, for tests: none once they have all landed or failed.</summary>
    internal int LateCount => _late.Count;

    private void Landed(StoreKind kind, string key, LateWrites pending)
    {
        Release(kind, key, pending);
        catchUp.Missed(kind, key, removed: pending.RemovedSince, keepsRemoval: true);
    }

    private void Release(StoreKind kind, string key, LateWrites pending)
    {
        if (Interlocked.Decrement(ref pending.Count) == 0)
        {
            _late.TryRemove(new KeyValuePair<(StoreKind, string), LateWrites>((kind, key), pending));
        }
    }

    /// <summary>The late writes of one key, and whether the session's last write since was a removal.</summary>
    private sealed class LateWrites(bool removed)
    {
        public int Count;
        public volatile bool RemovedSince = removed;
    }

    /// <summary>One secondary write, which knows whether it was given up on while still on its way.</summary>
    private sealed class Call(SecondaryWriter owner, StoreKind kind, string key, bool removes, Func<ISessionCacheProvider, CancellationToken, ValueTask> write)
    {
        private const int NotStarted = 0, Running = 1, Ended = 2, GivenUp = 3;
        private int _state;
        private LateWrites? _late;

        public async ValueTask RunAsync(ISessionCacheProvider store, CancellationToken token)
        {
            Volatile.Write(ref _state, Running);
            try
            {
                await write(store, token).ConfigureAwait(false);
            }
            finally
            {
                if (Interlocked.Exchange(ref _state, Ended) == GivenUp)
                {
                    owner.Landed(kind, key, _late!);
                }
            }
        }

        /// <summary>From now on the write, if still on its way, is a late one.</summary>
        public void GiveUp()
        {
            // Counted before the state changes: the write may land in between, and then finds its count.
            var late = owner._late.AddOrUpdate((kind, key), _ => new LateWrites(removes), (_, existing) =>
            {
                existing.RemovedSince = removes;
                return existing;
            });
            Interlocked.Increment(ref late.Count);
            _late = late;
            if (Interlocked.CompareExchange(ref _state, GivenUp, Running) != Running)
            {
                // Never started (skipped), or it ended as the caller gave up: nothing is on its way.
                _late = null;
                owner.Release(kind, key, late);
            }
        }
    }
}
