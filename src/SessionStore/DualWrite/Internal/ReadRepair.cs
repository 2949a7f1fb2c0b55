using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// A primary miss found in the secondary is copied to the primary, so sessions that are only ever read still
/// migrate. The secondary's read is bounded like every secondary call: with the secondary hung or its breaker
/// open, the miss is answered as a miss (a new visitor gets a new session) without waiting. It runs in the key's
/// turn (<see cref="SessionLocks"/>): a remove under way has then removed the secondary's copy too. A session of a
/// user whose "log out everywhere" is under way in the secondary, or waits for it to answer, is not copied: it is
/// on its way out (<see cref="Revocation"/>); nor is a session whose removal the secondary missed (a sign-out whose
/// delete failed there while its reads answer), which the catch-up removes.
/// </summary>
internal sealed class ReadRepair(SecondaryCalls secondaryCalls, PrimaryCalls primaryCalls, SessionLocks locks, DualWriteCounters counters, Func<StoreKind, string, bool> revoking, Func<StoreKind, string, bool> removalMissed)
{
    public async ValueTask<StoredEntry?> RepairAsync(Route route, string key, bool async, CancellationToken token)
    {
        using var turn = await locks.EnterAsync(key, route.Primary, "get", async, token).ConfigureAwait(false);
        if (removalMissed(route.SecondaryKind!.Value, key))
        {
            return null;
        }

        var (done, found) = await secondaryCalls.TryRunAsync(route.Secondary!, route.SecondaryKind!.Value, "get", key, (s, t) => s.GetEntryAsync(key, async: true, t), token).ConfigureAwait(false);
        if (!done || found?.Expiry.ToEntryOptions() is not { } lifetime
            || (route.Secondary!.UserIdOf(found.Value) is { } userId && revoking(route.SecondaryKind!.Value, userId)))
        {
            return null;
        }

        // Only where the primary still has nothing: a request that wrote the session meanwhile holds the newer copy.
        if (await primaryCalls.RunAsync(route.Primary, route.PrimaryKind, "set", key, (s, a, t) => s.SetAsync(key, found.Value, lifetime, WriteCondition.WhenAbsent, a, t), async, token).ConfigureAwait(false) is not null)
        {
            counters.Repaired(route.Primary.Name);
            return found;
        }

        return await primaryCalls.RunAsync(route.Primary, route.PrimaryKind, "get", key, (s, a, t) => s.GetEntryAsync(key, a, t), async, token).ConfigureAwait(false);
    }
}
