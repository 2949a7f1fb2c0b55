using System.Runtime.ExceptionServices;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// "Log out everywhere": runs in every store the phase uses and fails if any of them fails or does not answer
/// in time (a session left in either store could be read again). It also runs, best effort and bounded, in a
/// configured store the phase does not use: a copy left there would be read-repaired back after a rollback,
/// and the user would be signed in again. One that store did not take is made by the catch-up once it answers.
/// </summary>
/// <remarks>
/// In a dual phase the secondary's copies are the danger: a read that misses in the revoked primary repairs the
/// secondary's copy back, and a write of one of the user's sessions racing the revoke may reach the secondary just
/// after it. So from the start of a revoke until <see cref="SessionStoreOptions.SecondaryTimeout"/> after its end (by
/// when this instance's racing writes have landed or been abandoned), and while a secondary that missed it waits for
/// the catch-up, read repair leaves the user's sessions in the secondary alone (<see cref="IsUnderWay"/>). The
/// sessions of the user written to the secondary meanwhile (<see cref="Written"/>), by requests or by copies, are then brought in line
/// with the primary: a write that raced the revoke, which the primary no longer holds, is removed; a session signed
/// in after the revoke ("change the password, log out everywhere, sign in again"), which it holds, is left alone.
/// </remarks>
internal sealed class Revocation(StoreRouting routing, Func<SessionStoreOptions> options, PrimaryCalls primaryCalls, SecondaryCalls secondaryCalls, StoreBreakers breakers, CatchUp catchUp, SecondaryConvergence convergence, TimeProvider time)
{
    // Failures are logged with a hash of the "key": a short hash of a user id (often an e-mail) is reversible by
    // dictionary, so the log gets this fixed text instead.
    private const string NotAKey = "(a user's sessions)";

    // Sessions of one user written during one revoke's hold that are brought in line after it: a user has a few.
    private const int MaximumWatched = 1_000;

    // Users whose revoke in a store is under way or just ended, with the keys of their sessions written to that store
    // since. Guarded by _lock; empty but for the seconds around a revoke.
    private readonly Dictionary<(StoreKind Store, string UserId), Hold> _held = [];
    private readonly Lock _lock = new();
    private int _holds; // _held.Count, read without the lock on every write to the secondary

    /// <summary>Whether a revoke of <paramref name="userId"/>'s sessions in <paramref name="kind"/> is under way, or waits for the store to answer.</summary>
    public bool IsUnderWay(StoreKind kind, string userId)
    {
        lock (_lock)
        {
            if (_held.ContainsKey((kind, userId)))
            {
                return true;
            }
        }

        return catchUp.Backlog(kind).RevocationPending(userId);
    }

    /// <summary>
    /// <paramref name="store"/> took <paramref name="value"/> for <paramref name="key"/>: a request's write, or a copy
    /// (catch-up, comparison). Remembered when a revoke of the session's user in that store is held.
    /// </summary>
    public void Written(ISessionCacheProvider store, string key, ReadOnlyMemory<byte> value)
    {
        // Every write passes here: nothing more than this read while no revoke is held.
        if (Volatile.Read(ref _holds) == 0 || store.UserIdOf(value.Span) is not { } user)
        {
            return;
        }

        lock (_lock)
        {
            if (_held.TryGetValue((PhaseRoles.KindOf(store), user), out var hold) && hold.Written.Count < MaximumWatched)
            {
                hold.Written.Add(key);
            }
        }
    }

    public async Task<long> RevokeAsync(Route route, string userId, CancellationToken token)
    {
        var outcomes = await RevokeEachAsync(route, userId, token).ConfigureAwait(false);
        if (outcomes.FirstOrDefault(o => o.Error is not null)?.Error is { } error)
        {
            ExceptionDispatchInfo.Throw(error);
        }

        return outcomes.Where(o => o.Role != StoreRole.Idle).Max(o => o.Revoked ?? 0);
    }

    /// <summary>
    /// The revoke in each store, with what each did: the tool reports them one by one, so that a revoke that failed in
    /// one store still says the other is done. The primary's and the secondary's failures are returned, not thrown.
    /// </summary>
    public async Task<IReadOnlyList<StoreRevocation>> RevokeEachAsync(Route route, string userId, CancellationToken token)
    {
        if (route.Secondary is null)
        {
            return await RevokeInEachAsync(route, userId, token).ConfigureAwait(false);
        }

        var held = (Store: route.SecondaryKind!.Value, UserId: userId);
        lock (_lock)
        {
            if (!_held.TryGetValue(held, out var hold))
            {
                _held[held] = hold = new Hold();
                _holds = _held.Count;
            }

            hold.Count++;
        }

        try
        {
            var outcomes = await RevokeInEachAsync(route, userId, token).ConfigureAwait(false);
            if (outcomes.Any(o => o.Role == StoreRole.Secondary && o.Error is not null))
            {
                catchUp.RevocationMissed(held.Store, userId);
            }

            return outcomes;
        }
        catch (OperationCanceledException)
        {
            catchUp.RevocationMissed(held.Store, userId); // it may not have reached the secondary
            throw;
        }
        finally
        {
            _ = ReleaseLaterAsync(route, held);
        }
    }

    /// <summary>
    /// <see cref="SessionStoreOptions.SecondaryTimeout"/> after a revoke, brings the user's sessions written to the
    /// secondary meanwhile in line with the primary (one that fails waits for the catch-up, as a removal), and ends the hold.
    /// </summary>
    private async Task ReleaseLaterAsync(Route route, (StoreKind Store, string UserId) held)
    {
        try
        {
            await Task.Delay(options().SecondaryTimeout, time).ConfigureAwait(false);
            string[] written;
            lock (_lock)
            {
                written = [.. _held[held].Written];
            }

            foreach (var key in written)
            {
                if (await convergence.ConvergeAsync(key, route.Primary, route.PrimaryKind, route.Secondary!, held.Store, targetIsPrimary: false, options().ExpiryTolerance, removeOrphan: true, CancellationToken.None).ConfigureAwait(false) != Convergence.Converged)
                {
                    catchUp.Missed(held.Store, key, removed: true);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The cache is being disposed.
        }
        finally
        {
            lock (_lock)
            {
                if (--_held[held].Count == 0)
                {
                    _held.Remove(held);
                    _holds = _held.Count;
                }
            }
        }
    }

    private sealed class Hold
    {
        public int Count;
        public readonly HashSet<string> Written = new(StringComparer.Ordinal);
    }

    private async Task<IReadOnlyList<StoreRevocation>> RevokeInEachAsync(Route route, string userId, CancellationToken token)
    {
        var primary = OutcomeAsync(route.Primary, StoreRole.Primary, primaryCalls.RunAsync(route.Primary, route.PrimaryKind, "revoke", NotAKey, (s, _, t) => new ValueTask<long>(s.RevokeUserSessionsAsync(userId, t)), async: true, token).AsTask());
        var secondary = route.Secondary is { } store ? OutcomeAsync(store, StoreRole.Secondary, RevokeInSecondaryAsync(store, route.SecondaryKind!.Value, userId, token)) : null;
        var outcomes = new List<StoreRevocation> { await primary.ConfigureAwait(false) };
        if (secondary is not null)
        {
            outcomes.Add(await secondary.ConfigureAwait(false));
        }

        if (routing.Idle(route, options()) is { } idle)
        {
            var (done, revoked) = await TryRevokeBestEffortAsync(idle.Store, idle.Kind, userId, token).ConfigureAwait(false);
            var error = done || catchUp.RevocationMissed(idle.Kind, userId) ? null : new InvalidOperationException(
                $"The {idle.Store.Name} session store, which phase {route.Phase} does not use, did not take the revoke, and its catch-up cannot make it later: it holds at most {catchUp.Backlog(idle.Kind).Capacity} users' missed revokes ({nameof(SessionStoreOptions.CatchUpCapacity)}), all taken. Run the revoke again once the store answers; the stores the phase uses are revoked.");
            outcomes.Add(new StoreRevocation(idle.Store.Name, StoreRole.Idle, done ? revoked : null, error));
        }

        return outcomes;

        async Task<StoreRevocation> OutcomeAsync(ISessionCacheProvider store, StoreRole role, Task<long> revoke)
        {
            try
            {
                return new StoreRevocation(store.Name, role, await revoke.ConfigureAwait(false), Error: null);
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                return new StoreRevocation(store.Name, role, Revoked: null, e);
            }
        }
    }

    /// <summary>Revokes in a store the phase does not use, or in a secondary that missed it: best effort and bounded; not done when it did not answer.</summary>
    public async ValueTask<(bool Done, long Revoked)> TryRevokeBestEffortAsync(ISessionCacheProvider idle, StoreKind kind, string userId, CancellationToken token) =>
        await secondaryCalls.TryRunAsync(idle, kind, "revoke", NotAKey, (s, t) => StoreRouting.ClearInIdleAsync(() => new ValueTask<long>(s.RevokeUserSessionsAsync(userId, t)), 0L), token).ConfigureAwait(false);

    /// <summary>The secondary must be revoked too, so its failure fails the call: bounded, but thrown.</summary>
    private async Task<long> RevokeInSecondaryAsync(ISessionCacheProvider secondary, StoreKind kind, string userId, CancellationToken token)
    {
        if (breakers.For(kind).IsOpen)
        {
            throw new StoreCircuitOpenException(secondary.Name, "revoke", new InvalidOperationException("The store did not answer recently."));
        }

        return await breakers.For(kind).ExecuteAsync(
            static (call, t) => Bounded.RunAsync(call.secondary.Name, "revoke", c => new ValueTask<long>(call.secondary.RevokeUserSessionsAsync(call.userId, c)), call.timeout, nameof(SessionStoreOptions.SecondaryTimeout), call.time, t),
            (secondary, userId, timeout: options().SecondaryTimeout, time),
            token).ConfigureAwait(false);
    }
}

/// <summary>The part a store plays in a call: the phase's primary or secondary, or a configured store the phase does not use.</summary>
internal enum StoreRole
{
    Primary,
    Secondary,
    Idle,
}

/// <summary>
/// What a "log out everywhere" did in one store: the sessions it deleted, or the failure; for the idle store, a null
/// count when it did not answer (the catch-up makes it later), and an error only when the catch-up cannot take it.
/// </summary>
internal sealed record StoreRevocation(string Store, StoreRole Role, long? Revoked, Exception? Error);
