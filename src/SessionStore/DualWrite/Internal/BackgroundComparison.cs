using Microsoft.Extensions.Logging;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Compares a sample of primary hits with the secondary, off the request path, reports confirmed differences
/// and gives the secondary the primary's copy. Best effort: bounded in number and in time (each read and copy
/// is a <see cref="SecondaryCalls"/> call), skipped while a breaker is open.
/// </summary>
internal sealed class BackgroundComparison(SecondaryCalls calls, SecondaryConvergence convergence, SessionLocks locks, DualWriteCounters counters, Func<SessionStoreOptions> options, TimeProvider time, ILogger logger) : IDisposable
{
    // Comparisons wait this long after the read that sampled them, so that the request's own write-back has
    // landed in both stores and is not reported as a difference.
    private static readonly TimeSpan ComparisonDelay = TimeSpan.FromMilliseconds(250);
    private const int MaximumConcurrentComparisons = 16;
    private const int MaximumPendingComparisons = 10_000;
    private readonly SemaphoreSlim _comparisons = new(MaximumConcurrentComparisons, MaximumConcurrentComparisons);
    private int _pendingComparisons;

    /// <summary>Comparisons scheduled and not yet ended (waiting for their delay or a slot, or running).</summary>
    public int Pending => Volatile.Read(ref _pendingComparisons);

    /// <summary>Schedules a comparison of <paramref name="key"/> with the probability the options set.</summary>
    public void MaybeSchedule(Route route, string key)
    {
        if (Random.Shared.NextDouble() >= options().ComparisonSampleRate)
        {
            return;
        }

        // Comparisons are best effort: past a bound on those waiting, a sample is skipped, not queued.
        if (Interlocked.Increment(ref _pendingComparisons) > MaximumPendingComparisons)
        {
            Interlocked.Decrement(ref _pendingComparisons);
            return;
        }

        CompareLater(route, key);
    }

    // Its own method, so that the closure the task captures is allocated only for a sampled read, not for every read.
    private void CompareLater(Route route, string key) =>
        _ = Task.Run(async () =>
        {
            try
            {
                // Wait first, holding no slot: the request's own write-back lands meanwhile and is not reported.
                await Task.Delay(ComparisonDelay, time).ConfigureAwait(false);
                await CompareAsync(route, key).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                DualWriteLog.ComparisonFailed(logger, KeyHash.Of(key), e);
            }
            finally
            {
                Interlocked.Decrement(ref _pendingComparisons);
            }
        });

    public void Dispose() => _comparisons.Dispose();

    /// <summary>Runs one round of a comparison in one of the <see cref="MaximumConcurrentComparisons"/> slots, which bound the load comparisons put on the stores.</summary>
    private async Task<T> InSlotAsync<T>(Func<Task<T>> round)
    {
        await _comparisons.WaitAsync().ConfigureAwait(false);
        try
        {
            return await round().ConfigureAwait(false);
        }
        finally
        {
            _comparisons.Release();
        }
    }

    private async Task CompareAsync(Route route, string key)
    {
        var tolerance = options().ExpiryTolerance;
        var first = await InSlotAsync(ReadBothAsync).ConfigureAwait(false);
        // A session gone from the primary (removed or expired since it was read) is nothing to compare.
        if (first is not var (firstPrimary, firstSecondary, firstKind) || firstPrimary is null)
        {
            return;
        }

        if (firstKind is null)
        {
            counters.Compared(ComparisonOutcome.Equal);
            return;
        }

        // A difference may be a write still on its way: to the secondary after the primary (a request's own, or one
        // of concurrent requests to the session), or, during a rolling switch between the dual phases, to this
        // primary from instances in the other phase, which write this secondary first (MixedPhaseFleetTests). Each
        // lands within SecondaryTimeout or is abandoned, so the difference is confirmed only if it outlasts that,
        // with neither copy written meanwhile. A session still being written is left to its writes, which reach both
        // stores, and counted as in flux: under concurrent requests to one session, reading the two stores one after
        // the other straddled them in most comparisons (1,400 to 1,700 reports in 3 s, where nothing differed). The
        // wait holds no slot.
        await Task.Delay(options().SecondaryTimeout, time).ConfigureAwait(false);
        await InSlotAsync(async () =>
        {
            // Reported once the key's turn is released, still in the slot: a slow OnMismatch of the application's must
            // hold up neither the session's requests (a sign-out waited for it, then timed out blaming the store) nor
            // more than the comparisons' slots.
            if (await ConfirmAsync().ConfigureAwait(false) is { } mismatch)
            {
                counters.Mismatch(mismatch);
            }

            return true;
        }).ConfigureAwait(false);

        async Task<SessionMismatch?> ConfirmAsync()
        {
            // In the key's turn (SessionLocks): a remove or a set of this instance cannot fall between the reads and the copy.
            using var turn = await locks.EnterAsync(key, route.Primary, "compare", async: true, CancellationToken.None).ConfigureAwait(false);
            if (await ReadBothAsync().ConfigureAwait(false) is not var (primaryEntry, secondaryEntry, kind))
            {
                return null;
            }

            if (SessionComparison.Changed(firstPrimary, primaryEntry) || SessionComparison.Changed(firstSecondary, secondaryEntry))
            {
                counters.Compared(ComparisonOutcome.InFlux);
                return null;
            }

            if (kind is not { } confirmed)
            {
                counters.Compared(ComparisonOutcome.Equal);
                return null;
            }

            // The primary is the truth: the secondary gets the primary's copy, so that the next phase change (forward
            // or back) finds the same session in both stores — but only if the secondary still holds what was compared,
            // so a write that raced this comparison is never overwritten with an older copy.
            await convergence.CopyAsync(key, primaryEntry!, secondaryEntry, route.Secondary!, route.SecondaryKind!.Value, CancellationToken.None).ConfigureAwait(false);
            counters.Compared(ComparisonOutcome.Mismatch);
            return new SessionMismatch(confirmed, route.Phase, KeyHash.Of(key));
        }

        // Both copies and how they differ, or null when a read failed or was skipped (SecondaryCalls counts the
        // secondary's among the secondary failures, and logs the primary's at debug level). The secondary is read first: a request's write reaches it after the primary, so a
        // round that straddles one sees the secondary older, which is what the repair's condition expects (a newer
        // secondary copy comes only from an instance in the other dual phase, above).
        async Task<(StoredEntry? Primary, StoredEntry? Secondary, SessionMismatchKind? Kind)?> ReadBothAsync()
        {
            var (readSecondary, s) = await calls.TryRunAsync(route.Secondary!, route.SecondaryKind!.Value, "get", key, (store, t) => store.GetEntryAsync(key, async: true, t), CancellationToken.None).ConfigureAwait(false);
            if (!readSecondary)
            {
                return null;
            }

            var (readPrimary, p) = await calls.TryReadSourceAsync(route.Primary, route.PrimaryKind, key, CancellationToken.None).ConfigureAwait(false);
            return readPrimary ? (p, s, p is null ? null : SessionComparison.Classify(p, s, tolerance)) : null;
        }
    }
}
