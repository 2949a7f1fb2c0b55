using Microsoft.Extensions.Logging;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Compares a sample of primary hits with the secondary, off the request path, reports confirmed differences
/// and gives the secondary the primary's copy. Best effort: bounded in number and in time (each read and copy
/// is a <see cref="SecondaryCalls"/> call), skipped while a breaker is open.
/// </summary>
internal sealed class BackgroundComparison(SecondaryCalls calls, SecondaryConvergence convergence, DualWriteCounters counters, Func<SessionStoreOptions> options, TimeProvider time, ILogger logger) : IDisposable
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
                await _comparisons.WaitAsync().ConfigureAwait(false);
                try
                {
                    await CompareAsync(route, key).ConfigureAwait(false);
                }
                finally
                {
                    _comparisons.Release();
                }
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

    private static bool NewerInSecondary(StoredEntry primary, StoredEntry? secondary) => secondary is not null && secondary.Version > primary.Version;

    private async Task CompareAsync(Route route, string key)
    {
        var tolerance = options().ExpiryTolerance;
        if (await ClassifyAsync().ConfigureAwait(false) is not var (firstPrimary, firstSecondary, _))
        {
            return;
        }

        // A secondary copy newer than the primary's may be a write still on its way to the primary: during a rolling
        // switch between the dual phases, instances in the other phase write this store first, and the other store
        // within their SecondaryTimeout. Such a copy is replaced only once it stayed the same past that time; any
        // other newer copy is left to the write carrying it (MixedPhaseFleetTests).
        var waited = NewerInSecondary(firstPrimary, firstSecondary);
        if (waited)
        {
            await Task.Delay(options().SecondaryTimeout, time).ConfigureAwait(false);
        }

        // Read both again before reporting: a write that landed between the two reads is not a mismatch.
        if (await ClassifyAsync().ConfigureAwait(false) is not var (primaryEntry, secondaryEntry, kind)
            || (NewerInSecondary(primaryEntry, secondaryEntry) && !(waited && secondaryEntry!.Version == firstSecondary!.Version)))
        {
            return;
        }

        // The primary is the truth: the secondary gets the primary's copy, so that the next phase change (forward
        // or back) finds the same session in both stores — but only if the secondary still holds what was compared,
        // so a write that raced this comparison is never overwritten with an older copy.
        await convergence.CopyAsync(key, primaryEntry, secondaryEntry, route.Secondary!, route.SecondaryKind!.Value, CancellationToken.None).ConfigureAwait(false);
        counters.Mismatch(new SessionMismatch(kind, route.Phase, KeyHash.Of(key)));

        // The secondary is read first: writes reach it after the primary, so a secondary copy newer than the
        // primary's cannot be read here, and an older one is what the repair's condition expects.
        async Task<(StoredEntry Primary, StoredEntry? Secondary, SessionMismatchKind Kind)?> ClassifyAsync()
        {
            var (readSecondary, s) = await calls.TryRunAsync(route.Secondary!, route.SecondaryKind!.Value, "get", key, (store, t) => store.GetEntryAsync(key, async: true, t), CancellationToken.None).ConfigureAwait(false);
            if (!readSecondary)
            {
                return null;
            }

            var (readPrimary, p) = await calls.TryRunAsync(route.Primary, route.PrimaryKind, "get", key, (store, t) => store.GetEntryAsync(key, async: true, t), CancellationToken.None).ConfigureAwait(false);
            return readPrimary && p is not null && SessionComparison.Classify(p, s, tolerance) is { } found ? (p, s, found) : null;
        }
    }
}
