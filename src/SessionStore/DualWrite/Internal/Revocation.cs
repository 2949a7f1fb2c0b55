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
/// after it. So from the start of a revoke until the secondary has been revoked once more,
/// <see cref="SessionStoreOptions.SecondaryTimeout"/> later (by when this instance's racing writes have landed or been abandoned), or
/// by the catch-up if it does not answer, read repair leaves the user's sessions in the secondary alone
/// (<see cref="IsUnderWay"/>).
/// </remarks>
internal sealed class Revocation(StoreRouting routing, Func<SessionStoreOptions> options, PrimaryCalls primaryCalls, SecondaryCalls secondaryCalls, StoreBreakers breakers, CatchUp catchUp, TimeProvider time)
{
    // Failures are logged with a hash of the "key": a short hash of a user id (often an e-mail) is reversible by
    // dictionary, so the log gets this fixed text instead.
    private const string NotAKey = "(a user's sessions)";

    // Users whose revoke in a store is under way or not yet confirmed, counted: one user may be revoked twice at once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(StoreKind Store, string UserId), int> _underWay = new();

    /// <summary>Whether a revoke of <paramref name="userId"/>'s sessions in <paramref name="kind"/> is under way, or waits for the store to answer.</summary>
    public bool IsUnderWay(StoreKind kind, string userId) => _underWay.ContainsKey((kind, userId)) || catchUp.RevocationPending(kind, userId);

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
        if (route.Secondary is not { } secondaryStore)
        {
            return await RevokeInEachAsync(route, userId, token).ConfigureAwait(false);
        }

        var held = (route.SecondaryKind!.Value, userId);
        _underWay.AddOrUpdate(held, 1, (_, n) => n + 1);
        try
        {
            return await RevokeInEachAsync(route, userId, token).ConfigureAwait(false);
        }
        finally
        {
            _ = ConfirmInSecondaryAsync(secondaryStore, held);
        }
    }

    /// <summary>Revokes in the secondary once more, <see cref="SessionStoreOptions.SecondaryTimeout"/> after the revoke; one it does not take waits for the catch-up.</summary>
    private async Task ConfirmInSecondaryAsync(ISessionCacheProvider secondary, (StoreKind Store, string UserId) held)
    {
        try
        {
            await Task.Delay(options().SecondaryTimeout, time).ConfigureAwait(false);
            if (!(await TryRevokeInIdleAsync(secondary, held.Store, held.UserId, CancellationToken.None).ConfigureAwait(false)).Done)
            {
                catchUp.RevocationMissed(held.Store, held.UserId);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
        {
            // The cache is being disposed.
        }
        finally
        {
            if (_underWay.AddOrUpdate(held, 0, (_, n) => n - 1) <= 0)
            {
                _underWay.TryRemove(KeyValuePair.Create(held, 0));
            }
        }
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
            var (done, revoked) = await TryRevokeInIdleAsync(idle.Store, idle.Kind, userId, token).ConfigureAwait(false);
            if (!done)
            {
                catchUp.RevocationMissed(idle.Kind, userId);
            }

            outcomes.Add(new StoreRevocation(idle.Store.Name, StoreRole.Idle, done ? revoked : null, Error: null));
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

    /// <summary>Revokes in a store the phase does not use, or once more in the secondary: best effort and bounded; not done when it did not answer.</summary>
    public async ValueTask<(bool Done, long Revoked)> TryRevokeInIdleAsync(ISessionCacheProvider idle, StoreKind kind, string userId, CancellationToken token) =>
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
/// count and no error when it did not answer (the catch-up makes it later).
/// </summary>
internal sealed record StoreRevocation(string Store, StoreRole Role, long? Revoked, Exception? Error);
