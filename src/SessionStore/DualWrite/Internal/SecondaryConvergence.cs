using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Brings one key of a target store up to date with a source store, never overwriting a write that raced the
/// copy: the target is read first, and the copy lands only if the target still holds what was read. A key whose
/// removal the target missed is removed from it when the source no longer has it either, so a removed session is
/// never brought back; a key the source merely lacks is left alone (a Redis restarted empty lost it, it was not removed).
/// A target holding a newer version than the source (it took a write since, as the primary after a step, or the
/// source missed one) is not overwritten: the caller copies the other way. A copy that is a write its caller was told
/// failed, landed late (<see cref="UnacknowledgedWrites"/>), is never the newer one, whatever its version.
/// </summary>
internal sealed class SecondaryConvergence(SecondaryCalls calls, DualWriteCounters counters, UnacknowledgedWrites unacknowledged, Action<ISessionCacheProvider, string, ReadOnlyMemory<byte>> copied, Func<SecondaryWriter> writer)
{
    private const int Attempts = 3;

    /// <summary>Whether the target now matches the source (or nothing could be done about it), holds the newer write, or a store did not answer.</summary>
    public async ValueTask<Convergence> ConvergeAsync(string key, ISessionCacheProvider source, StoreKind sourceKind, ISessionCacheProvider target, StoreKind targetKind, bool targetIsPrimary, TimeSpan tolerance, bool removeOrphan, CancellationToken token)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            // The target first: a write reaches it after the source, so what the target holds is never newer than what the source read next.
            var (readTarget, targetEntry) = await calls.TryRunAsync(target, targetKind, "get", key, (s, t) => s.GetEntryAsync(key, async: true, t), token).ConfigureAwait(false);
            var (readSource, sourceEntry) = readTarget
                ? await calls.TryReadSourceAsync(source, sourceKind, key, token).ConfigureAwait(false)
                : (false, null);
            if (!readSource)
            {
                return Convergence.Unanswered;
            }

            if (sourceEntry is null)
            {
                if (targetEntry is null || !removeOrphan)
                {
                    return Convergence.Converged;
                }

                if (!await TrackedAsync(target, targetKind, "remove", key, (s, t) => new ValueTask(s.RemoveAsync(key, t)), token).ConfigureAwait(false))
                {
                    return Convergence.Unanswered;
                }

                counters.Repaired(target.Name);

                // A request may have written the key to both stores between the read and the remove: look again.
                continue;
            }

            // An entry with no time left is as good as gone; the target's copy expires on its own.
            if (sourceEntry.Expiry.ToEntryOptions() is null)
            {
                return Convergence.Converged;
            }

            if (SessionComparison.Classify(sourceEntry, targetEntry, tolerance) is null)
            {
                // The same session, its expiry within tolerance; but a missed touch must not leave the target's copy expiring first.
                return !ExpiresFirst(targetEntry!, sourceEntry)
                    || await calls.TryRunAsync(target, targetKind, "refresh", key, (s, t) => s.TouchAsync(key, t), token).ConfigureAwait(false)
                    ? Convergence.Converged
                    : Convergence.Unanswered;
            }

            // Versions order the writes across both stores (WriteCondition). A copy without one (a RedisCache entry)
            // cannot be ordered: the primary's is taken as the newer. A primary's lack of the key is its own too: it
            // may have removed it since (and a read repairs a key it never had). A late write took its version when
            // it landed, not when it was made: the other store's copy, acknowledged after it failed, is the newer one.
            var targetIsLate = unacknowledged.IsLate(targetKind, key, targetEntry);
            if (!targetIsLate && (targetEntry is null || sourceEntry.Version == 0 || targetEntry.Version == 0
                    ? targetIsPrimary
                    : targetEntry.Version > sourceEntry.Version || unacknowledged.IsLate(sourceKind, key, sourceEntry)))
            {
                return Convergence.TargetIsNewer;
            }

            if (await CopyAsync(key, sourceEntry, targetEntry, target, targetKind, token).ConfigureAwait(false))
            {
                return Convergence.Converged;
            }
        }

        return Convergence.Unanswered;
    }

    /// <summary>
    /// Whether the target's sliding copy, read before the source's, has less time left than the source's: a touch
    /// the target missed. (Read first, the target's remaining time is if anything the larger.)
    /// </summary>
    private static bool ExpiresFirst(StoredEntry target, StoredEntry source) =>
        source.Expiry.Sliding is not null && target.Expiry.Remaining is { } t && source.Expiry.Remaining is { } s && t < s;

    /// <summary>Writes <paramref name="source"/> to the target if it still holds <paramref name="expected"/>; whether it did.</summary>
    public async ValueTask<bool> CopyAsync(string key, StoredEntry source, StoredEntry? expected, ISessionCacheProvider target, StoreKind targetKind, CancellationToken token)
    {
        if (source.Expiry.ToEntryOptions() is not { } lifetime)
        {
            return false;
        }

        var condition = expected is null ? WriteCondition.WhenAbsent : WriteCondition.WhenUnchanged(expected.Value);
        long? written = null;
        var done = await TrackedAsync(target, targetKind, "set", key, async (s, t) => written = await s.SetAsync(key, source.Value, lifetime, condition, async: true, t).ConfigureAwait(false), token).ConfigureAwait(false);
        if (done && written is not null)
        {
            counters.Repaired(target.Name);
            copied(target, key, source.Value); // a revoke racing the copy brings it in line afterwards (Revocation)
        }

        return done && written is not null;
    }

    /// <summary>
    /// A write to the target, as a secondary call; given up on and landing later, after the session's next writes (a
    /// sign-out that found nothing to delete yet), it sends its key back to the catch-up (<see cref="SecondaryWriter"/>).
    /// </summary>
    private async ValueTask<bool> TrackedAsync(ISessionCacheProvider target, StoreKind targetKind, string operation, string key, Func<ISessionCacheProvider, CancellationToken, ValueTask> write, CancellationToken token)
    {
        var call = writer().Track(targetKind, key, operation, write);
        try
        {
            return await calls.TryRunAsync(target, targetKind, operation, key, call.RunAsync, token).ConfigureAwait(false);
        }
        finally
        {
            call.GiveUp(); // nothing when it ended
        }
    }
}

/// <summary>What <see cref="SecondaryConvergence.ConvergeAsync"/> found.</summary>
internal enum Convergence
{
    /// <summary>The target matches the source, or has nothing to take from it.</summary>
    Converged,

    /// <summary>The target holds a newer write than the source: the source is the one to bring up to date.</summary>
    TargetIsNewer,

    /// <summary>A store did not answer, or the key kept changing: try again later.</summary>
    Unanswered,
}
