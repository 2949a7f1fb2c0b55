using System.Runtime.ExceptionServices;
using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;
using SessionStore.Internal;
using SessionStore.Migration.Internal;
using SessionStore.Postgres;

namespace SessionStore.Migration;

/// <summary>
/// Compares the two stores of a migration: live-session counts, and the content of a sample (or all) of the
/// primary's sessions with the rules of <see cref="DualWriteCache"/>'s own comparison (sessions by id and
/// key-to-value map, lifetimes within <see cref="SessionStoreOptions.ExpiryTolerance"/>, except that a sliding copy
/// may outlive its source by up to its window, as every copy is written with a fresh one). A difference counts only
/// when it is still there when both stores are read again, as in the cache. A full comparison also lists the
/// secondary, for sessions the primary lacks. With a <c>UserIdSessionKey</c>, each compared session's PostgreSQL
/// row is also checked to record the user its session names, as "log out everywhere" finds sessions by it.
/// Nothing is written, and reads never extend an expiry.
/// </summary>
public sealed class SessionStoreVerifier
{
    private const int PageSize = 500;

    // Pages handed out at once while Redis is scanned: twice the reads a comparison runs at once, so its reads
    // rarely wait on the SCAN, and a full run holds a few pages of keys, not the keyspace.
    private const int MaximumPendingPages = 2 * Comparison.MaximumConcurrentReads;

    private readonly SessionStoreOptions _options;

    /// <summary>Creates a verifier for the stores of <paramref name="options"/>.</summary>
    /// <param name="options">The same options the application's <c>AddDualWriteSessionStore</c> reads; its phase names the primary (Redis when unset).</param>
    public SessionStoreVerifier(SessionStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>Counts and compares.</summary>
    /// <param name="options">The sample size, or a full comparison.</param>
    /// <param name="cancellationToken">Stops the comparison: the call returns at once, even while a server is hung.</param>
    /// <returns>The counts and the confirmed mismatches.</returns>
    public Task<VerificationResult> VerifyAsync(VerificationOptions options, CancellationToken cancellationToken = default) =>
        StoreDeadline.UntilCancelledAsync(t => VerifyCoreAsync(options, t), cancellationToken);

    private async Task<VerificationResult> VerifyCoreAsync(VerificationOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        var phase = _options.Phase == SessionStorePhase.Unspecified ? SessionStorePhase.DualWriteRedisPrimary : _options.Phase;
        var postgresIsPrimary = PhaseRoles.PostgresIsPrimary(phase);
        // As backfill and sync do: PostgreSQL then reads each row's user_id against the user its session names.
        _options.ApplyUserIdSessionKey();
        using var cache = new PostgresSessionCache(_options.Postgres);
        var target = new PostgresTable(cache);
        var source = await RedisSource.ConnectAsync(_options.Redis, cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            await target.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
            using var comparison = new Comparison(
                postgresIsPrimary ? keys => target.ReadAsync(keys, cancellationToken) : source.ReadAsync,
                postgresIsPrimary ? source.ReadAsync : keys => target.ReadAsync(keys, cancellationToken),
                _options.ExpiryTolerance,
                _options.SecondaryTimeout,
                cancellationToken);
            var sample = new Reservoir(options.Full ? 0 : options.SampleSize);
            var page = new List<string>(PageSize);

            // PostgreSQL is counted as Redis's SCAN starts and as it ends: under live traffic its count passes through
            // every value between the two, and the SCAN's count was taken over that same time. Counted once after the
            // whole run, it took in a whole run's growth that the SCAN never saw (a NO-GO with nothing to copy).
            var (postgresAtStart, _) = await target.CountAsync(cancellationToken).ConfigureAwait(false);
            long redisCount;
            if (postgresIsPrimary)
            {
                // One SCAN both counts Redis and, when full, looks for sessions only Redis, the secondary, holds.
                redisCount = await source.CountAsync(options.Full ? comparison.FindOnlyInSecondaryAsync : null, cancellationToken).ConfigureAwait(false);
                var keyPages = options.Full
                    ? target.AllKeysAsync(PageSize, cancellationToken)
                    : ToAsync((await target.SampleKeysAsync(options.SampleSize, cancellationToken).ConfigureAwait(false)).Chunk(PageSize).Select(c => c.ToList()));
                await foreach (var keys in keyPages.ConfigureAwait(false))
                {
                    await comparison.CompareAsync(keys).ConfigureAwait(false);
                }
            }
            else
            {
                // One SCAN both counts Redis and picks the keys: every key when full, else a uniform sample.
                var pending = new List<Task>();
                redisCount = await source.CountAsync(async keys =>
                {
                    if (!options.Full)
                    {
                        keys.ForEach(sample.Offer);
                        return;
                    }

                    foreach (var key in keys)
                    {
                        page.Add(key);
                        if (page.Count == PageSize)
                        {
                            pending.Add(comparison.CompareAsync(page.ToList()));
                            page.Clear();
                        }
                    }

                    if (pending.Count >= MaximumPendingPages)
                    {
                        await Task.WhenAll(pending).ConfigureAwait(false);
                        pending.Clear();
                    }
                }, cancellationToken).ConfigureAwait(false);
                pending.AddRange((options.Full ? page : sample.Items).Chunk(PageSize).Select(keys => comparison.CompareAsync(keys)));
                await Task.WhenAll(pending).ConfigureAwait(false);
            }

            var (postgresAtEnd, _) = await target.CountAsync(cancellationToken).ConfigureAwait(false);
            var postgresLive = Math.Clamp(redisCount, Math.Min(postgresAtStart, postgresAtEnd), Math.Max(postgresAtStart, postgresAtEnd));
            if (options.Full && !postgresIsPrimary)
            {
                await foreach (var keys in target.AllKeysAsync(PageSize, cancellationToken).ConfigureAwait(false))
                {
                    await comparison.FindOnlyInSecondaryAsync(keys).ConfigureAwait(false);
                }
            }

            await comparison.ConfirmAllAsync().ConfigureAwait(false);
            return new VerificationResult(
                phase, postgresIsPrimary, redisCount, postgresLive, options.CountTolerance, comparison.Compared, comparison.Unconfirmed, comparison.Confirmed, options.Full ? comparison.OnlyInSecondary : null,
                cache.RecordsUsers ? comparison.UserIdDiffers : null);
        }
    }

    private static async IAsyncEnumerable<T> ToAsync<T>(IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            yield return item;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>
    /// Compares pages of sessions and confirms each difference by reading both stores again once every write then on
    /// its way has landed or been abandoned (<paramref name="settle"/>, the cache's SecondaryTimeout), counting it only
    /// if neither copy was written in between: a session still being written is in flux, not a difference (the
    /// cache's background comparison confirms the same way). A page's confirmation waits on its own, so that the
    /// waits overlap and add about <paramref name="settle"/> to a run; reads take one of a few slots.
    /// </summary>
    private sealed class Comparison(
        Func<IReadOnlyList<string>, Task<StoredEntry?[]>> readPrimary, Func<IReadOnlyList<string>, Task<StoredEntry?[]>> readSecondary,
        TimeSpan tolerance, TimeSpan settle, CancellationToken cancellationToken) : IDisposable
    {
        public const int MaximumConcurrentReads = 4;
        private readonly SemaphoreSlim _reads = new(MaximumConcurrentReads, MaximumConcurrentReads);
        private readonly CancellationTokenSource _failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        private ExceptionDispatchInfo? _failure;
        private readonly Lock _lock = new();
        private readonly List<Task> _confirmations = [];
        private readonly Dictionary<SessionMismatchKind, long> _confirmed = Enum.GetValues<SessionMismatchKind>().ToDictionary(kind => kind, _ => 0L);

        public long Compared { get; private set; }

        public long Unconfirmed { get; private set; }

        public IReadOnlyDictionary<SessionMismatchKind, long> Confirmed => _confirmed;

        public long OnlyInSecondary { get; private set; }

        public long UserIdDiffers { get; private set; }

        /// <summary>Compares one page, leaving its differences to be confirmed (<see cref="ConfirmAllAsync"/>).</summary>
        public async Task CompareAsync(IReadOnlyList<string> keys)
        {
            var (suspects, compared) = await DifferingAsync(keys).ConfigureAwait(false);
            Track(suspects.Count > 0 ? ConfirmAsync(suspects) : null, compared);
        }

        /// <summary>
        /// Looks for sessions of one page of the secondary's keys that the primary lacks, leaving them to be confirmed.
        /// Such a session (signed out, or lost, without the secondary hearing of it) would be read-repaired back while
        /// the secondary is read, and served once it is primary; the count tolerance hid a few hundred of them.
        /// </summary>
        public async Task FindOnlyInSecondaryAsync(IReadOnlyList<string> keys)
        {
            var suspects = await OnlyInSecondaryAsync(keys).ConfigureAwait(false);
            Track(suspects.Count > 0 ? ConfirmOnlyInSecondaryAsync(suspects) : null, compared: 0);
        }

        private void Track(Task? confirmation, long compared)
        {
            lock (_lock)
            {
                Compared += compared;
                if (confirmation is not null)
                {
                    StoreDeadline.Abandon(confirmation); // observed even if the run fails before awaiting it
                    _confirmations.Add(confirmation);
                }
            }
        }

        public Task ConfirmAllAsync()
        {
            lock (_lock)
            {
                return Task.WhenAll(_confirmations);
            }
        }

        private async Task ConfirmAsync(List<Difference> suspects)
        {
            await UnlessFailedAsync(t => Task.Delay(settle, t)).ConfigureAwait(false);

            // SCAN may list a key twice: it is confirmed once.
            var first = new Dictionary<string, Difference>(StringComparer.Ordinal);
            foreach (var suspect in suspects)
            {
                first.TryAdd(suspect.Key, suspect);
            }

            var (again, _) = await DifferingAsync([.. first.Keys]).ConfigureAwait(false);
            var confirmed = again.FindAll(d => !SessionComparison.Changed(first[d.Key].Primary, d.Primary) && !SessionComparison.Changed(first[d.Key].Secondary, d.Secondary));
            lock (_lock)
            {
                Unconfirmed += first.Count - confirmed.Count;
                foreach (var difference in confirmed)
                {
                    if (difference.Kind is { } kind)
                    {
                        _confirmed[kind]++;
                    }

                    if (difference.UserIdDiffers)
                    {
                        UserIdDiffers++;
                    }
                }
            }
        }

        /// <summary>Counts a suspect only if, read again after <c>settle</c>, the primary still lacks it and the secondary's copy is unchanged.</summary>
        private async Task ConfirmOnlyInSecondaryAsync(List<(string Key, StoredEntry Secondary)> suspects)
        {
            await UnlessFailedAsync(t => Task.Delay(settle, t)).ConfigureAwait(false);
            var first = new Dictionary<string, StoredEntry>(StringComparer.Ordinal);
            foreach (var (key, secondary) in suspects)
            {
                first.TryAdd(key, secondary);
            }

            var again = await OnlyInSecondaryAsync([.. first.Keys]).ConfigureAwait(false);
            var confirmed = again.Count(s => !SessionComparison.Changed(first[s.Key], s.Secondary));
            lock (_lock)
            {
                Unconfirmed += first.Count - confirmed;
                OnlyInSecondary += confirmed;
            }
        }

        private async Task<List<(string Key, StoredEntry Secondary)>> OnlyInSecondaryAsync(IReadOnlyList<string> keys)
        {
            var (secondary, primary) = await ReadBothAsync(keys).ConfigureAwait(false);
            var only = new List<(string Key, StoredEntry Secondary)>();
            for (var i = 0; i < keys.Count; i++)
            {
                if (secondary[i] is { } copy && primary[i] is null)
                {
                    only.Add((keys[i], copy));
                }
            }

            return only;
        }

        /// <summary>Reads both stores, the secondary first as the cache does (a write reaches it after the primary).</summary>
        private async Task<(StoredEntry?[] Secondary, StoredEntry?[] Primary)> ReadBothAsync(IReadOnlyList<string> keys)
        {
            await UnlessFailedAsync(_reads.WaitAsync).ConfigureAwait(false);
            try
            {
                var secondary = readSecondary(keys);
                await UnlessFailedAsync(secondary.WaitAsync).ConfigureAwait(false);
                var primary = readPrimary(keys);
                await UnlessFailedAsync(primary.WaitAsync).ConfigureAwait(false);
                return (await secondary.ConfigureAwait(false), await primary.ConfigureAwait(false));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A store that failed (hung: each read waits out its timeout) fails the run now: the pages still
                // waiting for a slot or their settle time, or reading, would otherwise each wait out a timeout of
                // their own, four at a time (40 pages, 10 timeouts).
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                await _failed.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                _reads.Release();
            }
        }

        /// <summary>Waits, until a read of the run has failed: then fails with that read's error (a read left is abandoned, bounded by its own deadline).</summary>
        private async Task UnlessFailedAsync(Func<CancellationToken, Task> wait)
        {
            var waiting = wait(_failed.Token);
            try
            {
                await waiting.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _failure is { } failure)
            {
                failure.Throw();
            }
        }

        /// <summary>Stops the confirmations a failed run left waiting.</summary>
        public void Dispose()
        {
            _failed.Cancel();
            _failed.Dispose();
        }

        /// <summary>The sessions of <paramref name="keys"/> whose copies differ.</summary>
        private async Task<(List<Difference> Differing, long Compared)> DifferingAsync(IReadOnlyList<string> keys)
        {
            var (secondary, primary) = await ReadBothAsync(keys).ConfigureAwait(false);
            var differing = new List<Difference>();
            long compared = 0;
            for (var i = 0; i < keys.Count; i++)
            {
                if (primary[i] is not { } entry)
                {
                    continue; // gone from the primary since it was listed: nothing to compare
                }

                compared++;
                // Only PostgreSQL's reads set UserIdDiffers: a row is checked against its own session, primary or not.
                var kind = CopyComparison.Classify(entry, secondary[i], tolerance);
                var userIdDiffers = entry.UserIdDiffers || secondary[i] is { UserIdDiffers: true };
                if (kind is not null || userIdDiffers)
                {
                    differing.Add(new Difference(keys[i], kind, userIdDiffers, entry, secondary[i]));
                }
            }

            return (differing, compared);
        }

        /// <summary>How one session's copies differ (<paramref name="Kind"/>, null when they agree), and whether PostgreSQL's records another user than its session names.</summary>
        private sealed record Difference(string Key, SessionMismatchKind? Kind, bool UserIdDiffers, StoredEntry Primary, StoredEntry? Secondary);
    }

    /// <summary>A uniform random sample of a stream of unknown length (reservoir sampling).</summary>
    private sealed class Reservoir(int size)
    {
        private long _seen;

        public List<string> Items { get; } = [];

        public void Offer(string key)
        {
            _seen++;
            if (Items.Count < size)
            {
                Items.Add(key);
            }
            else if (size > 0 && Random.Shared.NextInt64(_seen) is var slot && slot < size)
            {
                Items[(int)slot] = key;
            }
        }
    }
}
