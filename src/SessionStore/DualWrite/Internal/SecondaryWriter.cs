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
    // Guarded by _lock: a count that reached 0 and an entry taken for a new late write must not cross.
    private readonly Dictionary<(StoreKind Kind, string Key), LateWrites> _late = [];
    private readonly Lock _lock = new();

    public async Task WriteAsync(Route route, string key, string operation, Func<ISessionCacheProvider, CancellationToken, ValueTask> write, CancellationToken token)
    {
        var kind = route.SecondaryKind!.Value;
        var call = Track(kind, key, operation, write);
        call.Follows();
        try
        {
            if (!await calls.TryRunAsync(route.Secondary!, kind, operation, key, call.RunAsync, token).ConfigureAwait(false))
            {
                catchUp.Missed(kind, key, removed: operation == "remove", keepsRemoval: operation == "refresh");
                call.GiveUp();
            }
        }
        catch (OperationCanceledException)
        {
            // The caller gave up after the primary was written: the secondary's copy is brought up to date later.
            catchUp.Missed(kind, key, removed: operation == "remove", keepsRemoval: operation == "refresh");
            call.GiveUp();
            throw;
        }
    }

    /// <summary>
    /// A write to <paramref name="kind"/> (a request's, or a copy's: catch-up, comparison) whose key goes back to the
    /// catch-up if it is given up on (<see cref="Call.GiveUp"/>) and lands afterwards.
    /// </summary>
    internal Call Track(StoreKind kind, string key, string operation, Func<ISessionCacheProvider, CancellationToken, ValueTask> write) =>
        new(this, kind, key, operation, write);

    private LateWrites Hold(Call call)
    {
        lock (_lock)
        {
            if (!_late.TryGetValue((call.Kind, call.Key), out var late))
            {
                _late[(call.Kind, call.Key)] = late = new LateWrites { RemovedSince = call.Removes };
            }
            else
            {
                call.MarkNewest(late);
            }

            late.Count++;
            return late;
        }
    }

    private void Release(Call call, LateWrites late)
    {
        lock (_lock)
        {
            if (--late.Count == 0)
            {
                _late.Remove((call.Kind, call.Key));
            }
        }
    }

    private void Landed(Call call, LateWrites late)
    {
        Release(call, late);
        catchUp.Missed(call.Kind, call.Key, removed: late.RemovedSince, keepsRemoval: true);
    }

    /// <summary>The late writes of one key, and whether the session's last write since was a removal.</summary>
    internal sealed class LateWrites
    {
        public int Count;
        public volatile bool RemovedSince;
    }

    /// <summary>One secondary write, which knows whether it was given up on while still on its way.</summary>
    internal sealed class Call(SecondaryWriter owner, StoreKind kind, string key, string operation, Func<ISessionCacheProvider, CancellationToken, ValueTask> write)
    {
        private const int NotStarted = 0, Running = 1, Ended = 2, GivenUp = 3;
        private int _state;
        private LateWrites? _late;

        public StoreKind Kind => kind;

        public string Key => key;

        public bool Removes => operation == "remove";

        /// <summary>Notes this write as the newest of its key for the late writes still on their way.</summary>
        public void Follows()
        {
            lock (owner._lock)
            {
                if (owner._late.TryGetValue((kind, key), out var late))
                {
                    MarkNewest(late);
                }
            }
        }

        /// <summary>Records whether this write, the newest of its key, removes it; a refresh writes nothing new, and leaves the last write as it was.</summary>
        public void MarkNewest(LateWrites late)
        {
            if (operation != "refresh")
            {
                late.RemovedSince = Removes;
            }
        }

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
                    owner.Landed(this, _late!);
                }
            }
        }

        /// <summary>From now on the write, if still on its way, is a late one; a write that never started or has ended is not.</summary>
        public void GiveUp()
        {
            if (Volatile.Read(ref _state) != Running)
            {
                return;
            }

            // Held before the state changes: the write may land in between, and then finds what it releases.
            var late = owner.Hold(this);
            _late = late;
            if (Interlocked.CompareExchange(ref _state, GivenUp, Running) != Running)
            {
                _late = null;
                owner.Release(this, late); // it ended as the caller gave up: nothing is on its way
            }
        }
    }
}
