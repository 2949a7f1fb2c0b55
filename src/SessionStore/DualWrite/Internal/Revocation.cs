using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// "Log out everywhere": runs in every store the phase uses and fails if any of them fails or does not answer
/// in time (a session left in either store could be read again). It also runs, best effort and bounded, in a
/// configured store the phase does not use: a copy left there would be read-repaired back after a rollback,
/// and the user would be signed in again. One that store did not take is made by the catch-up once it answers.
/// </summary>
internal sealed class Revocation(StoreRouting routing, Func<SessionStoreOptions> options, PrimaryCalls primaryCalls, SecondaryCalls secondaryCalls, StoreBreakers breakers, CatchUp catchUp, TimeProvider time)
{
    // Failures are logged with a hash of the "key": a short hash of a user id (often an e-mail) is reversible by
    // dictionary, so the log gets this fixed text instead.
    private const string NotAKey = "(a user's sessions)";

    public async Task<long> RevokeAsync(Route route, string userId, CancellationToken token)
    {
        var revokes = new List<Task<long>>
        {
            primaryCalls.RunAsync(route.Primary, route.PrimaryKind, "revoke", NotAKey, (s, _, t) => new ValueTask<long>(s.RevokeUserSessionsAsync(userId, t)), async: true, token).AsTask(),
        };
        if (route.Secondary is { } secondary)
        {
            revokes.Add(RevokeInSecondaryAsync(secondary, route.SecondaryKind!.Value, userId, token));
        }

        var revoked = await Task.WhenAll(revokes).ConfigureAwait(false);
        if (routing.Idle(route, options()) is { } idle && !await TryRevokeInIdleAsync(idle.Store, idle.Kind, userId, token).ConfigureAwait(false))
        {
            catchUp.RevocationMissed(idle.Kind, userId);
        }

        return revoked.Max();
    }

    /// <summary>Revokes in a store the phase does not use: best effort and bounded; false when it did not answer.</summary>
    public async ValueTask<bool> TryRevokeInIdleAsync(ISessionCacheProvider idle, StoreKind kind, string userId, CancellationToken token) =>
        (await secondaryCalls.TryRunAsync(idle, kind, "revoke", NotAKey, (s, t) => StoreRouting.ClearInIdleAsync(() => new ValueTask<long>(s.RevokeUserSessionsAsync(userId, t)), 0L), token).ConfigureAwait(false)).Done;

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
