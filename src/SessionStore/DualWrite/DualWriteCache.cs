using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SessionStore.DualWrite.Internal;
using SessionStore.Internal;

namespace SessionStore.DualWrite;

/// <summary>
/// The cache of a Redis-to-PostgreSQL migration: it sends each operation to the stores of the current
/// <see cref="SessionStorePhase"/>, read live from configuration. The primary's result is the request's result;
/// the secondary is written right after it under its own timeout, and its failures are logged and counted,
/// never thrown. Reads missing in the primary are repaired from the secondary, and a sample of hits is compared
/// with the secondary in the background.
/// </summary>
public sealed partial class DualWriteCache : IBufferDistributedCache, IUserSessionRevoker, IDisposable
{
    private readonly IOptionsMonitor<SessionStoreOptions> _options;
    private readonly Lazy<ISessionStore> _postgres;
    private readonly Lazy<ISessionStore> _redis;
    private readonly SessionStoreInstruments _instruments;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    // Comparisons wait this long after the read that sampled them, so that the request's own write-back has
    // landed in both stores and is not reported as a difference.
    private static readonly TimeSpan ComparisonDelay = TimeSpan.FromMilliseconds(250);

    private readonly SemaphoreSlim _comparisons = new(MaximumConcurrentComparisons, MaximumConcurrentComparisons);
    private const int MaximumConcurrentComparisons = 16;
    private const int MaximumPendingComparisons = 10_000;
    private readonly Lock _phaseLock = new();
    private SessionStorePhase _phase;
    private SessionStorePhase? _lastRefusedPhase;
    private long _secondaryFailures;
    private long _readRepairs;
    private long _failovers;
    private int _pendingComparisons;
    private readonly long[] _mismatches = new long[Enum.GetValues<SessionMismatchKind>().Length];

    internal DualWriteCache(
        IOptionsMonitor<SessionStoreOptions> options,
        Lazy<ISessionStore> postgres,
        Lazy<ISessionStore> redis,
        SessionStoreInstruments instruments,
        TimeProvider time,
        ILogger<DualWriteCache> logger)
    {
        _options = options;
        _postgres = postgres;
        _redis = redis;
        _instruments = instruments;
        _time = time;
        _logger = logger;
        _phase = options.CurrentValue.Phase;
    }

    /// <summary>The phase in force: the configured one, unless it is invalid or needs a store that is not configured.</summary>
    public SessionStorePhase Phase => CurrentPhase();

    /// <summary>Counts since start-up, for status pages; the same figures are published as metrics.</summary>
    /// <returns>A snapshot of the counters.</returns>
    public DualWriteStatistics GetStatistics() => new(
        CurrentPhase(),
        Interlocked.Read(ref _secondaryFailures),
        Interlocked.Read(ref _readRepairs),
        Enum.GetValues<SessionMismatchKind>().ToDictionary(kind => kind, kind => Interlocked.Read(ref _mismatches[(int)kind])),
        Interlocked.Read(ref _failovers));

    /// <inheritdoc />
    public byte[]? Get(string key) => ReadAsync(key, async: false, CancellationToken.None).GetAwaiter().GetResult()?.Value;

    /// <inheritdoc />
    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default) =>
        (await ReadAsync(key, async: true, token).ConfigureAwait(false))?.Value;

    /// <inheritdoc />
    public bool TryGet(string key, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return destination.TryWrite(Get(key));
    }

    /// <inheritdoc />
    public async ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return destination.TryWrite(await GetAsync(key, token).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        ArgumentNullException.ThrowIfNull(value);
        Set(key, new ReadOnlySequence<byte>(value), options);
    }

    /// <inheritdoc />
    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        return SetAsync(key, new ReadOnlySequence<byte>(value), options, token).AsTask();
    }

    /// <inheritdoc />
    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) =>
        SetVersionedAsync(key, value, options, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        SetVersionedAsync(key, value, options, async: true, token);

    /// <inheritdoc />
    public void Refresh(string key) =>
        WriteAsync(key, "refresh", (store, async, token) => async ? new ValueTask(store.RefreshAsync(key, token)) : Sync(() => store.Refresh(key)), async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task RefreshAsync(string key, CancellationToken token = default) =>
        await WriteAsync(key, "refresh", (store, async, t) => async ? new ValueTask(store.RefreshAsync(key, t)) : Sync(() => store.Refresh(key)), async: true, token).ConfigureAwait(false);

    /// <inheritdoc />
    public void Remove(string key) =>
        WriteAsync(key, "remove", (store, async, token) => async ? new ValueTask(store.RemoveAsync(key, token)) : Sync(() => store.Remove(key)), async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task RemoveAsync(string key, CancellationToken token = default) =>
        await WriteAsync(key, "remove", (store, async, t) => async ? new ValueTask(store.RemoveAsync(key, t)) : Sync(() => store.Remove(key)), async: true, token).ConfigureAwait(false);

    /// <inheritdoc />
    /// <remarks>
    /// Runs in every store the phase uses, and fails if any of them fails. It also runs, best effort, in a
    /// configured store the phase does not use: a copy left there would be read-repaired back after a rollback,
    /// and the user would be signed in again.
    /// </remarks>
    public async Task<long> RevokeUserSessionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var phase = CurrentPhase();
        var (primary, secondary) = Stores(phase);
        var revoked = await Task.WhenAll(new[] { primary, secondary }.OfType<ISessionStore>()
            .Select(store => store.RevokeUserSessionsAsync(userId, cancellationToken))).ConfigureAwait(false);
        if (secondary is null && IdleStore(phase) is { } idle)
        {
            try
            {
                await idle.RevokeUserSessionsAsync(userId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsStoreFailure(e, cancellationToken))
            {
                SecondaryFailed(idle, "revoke a user's sessions", key: null, e); // no user id, not even hashed: a short hash of an e-mail is reversible
            }
        }

        return revoked.Max();
    }

    /// <summary>Disposes the stores the cache created.</summary>
    public void Dispose()
    {
        foreach (var store in new[] { _postgres, _redis }.Where(s => s.IsValueCreated).Select(s => s.Value))
        {
            (store as IDisposable)?.Dispose();
        }

        _comparisons.Dispose();
    }

    /// <summary>The PostgreSQL store, built on first use.</summary>
    internal ISessionStore PostgresStore => _postgres.Value;

    /// <summary>The stores of the phase in force, primary first.</summary>
    internal (ISessionStore Primary, ISessionStore? Secondary) CurrentStores() => Stores(CurrentPhase());

    private async ValueTask<StoredEntry?> ReadAsync(string key, bool async, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        var phase = CurrentPhase();
        var (primary, secondary) = Stores(phase);
        StoredEntry? entry;
        try
        {
            entry = await TimedAsync(primary, "get", () => primary.GetEntryAsync(key, async, token)).ConfigureAwait(false);
        }
        catch (Exception e) when (secondary is not null && _options.CurrentValue.FailoverReadsToSecondary && IsStoreFailure(e, token))
        {
            Interlocked.Increment(ref _failovers);
            LogReadFailover(primary.Name, KeyHash.Of(key), e);
            return await TimedAsync(secondary, "get", () => secondary.GetEntryAsync(key, async, token)).ConfigureAwait(false);
        }

        if (secondary is null)
        {
            return entry;
        }

        if (entry is null)
        {
            return await RepairFromSecondaryAsync(key, primary, secondary, async, token).ConfigureAwait(false);
        }

        if (Random.Shared.NextDouble() < _options.CurrentValue.ComparisonSampleRate)
        {
            ScheduleComparison(key, phase, primary, secondary);
        }

        return entry;
    }

    /// <summary>A primary miss found in the secondary is copied to the primary, so sessions that are only ever read still migrate.</summary>
    private async ValueTask<StoredEntry?> RepairFromSecondaryAsync(string key, ISessionStore primary, ISessionStore secondary, bool async, CancellationToken token)
    {
        StoredEntry? found;
        try
        {
            found = await TimedAsync(secondary, "get", () => secondary.GetEntryAsync(key, async, token)).ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreFailure(e, token))
        {
            SecondaryFailed(secondary, "get", key, e);
            return null;
        }

        if (found?.Expiry.ToEntryOptions() is not { } lifetime)
        {
            return null;
        }

        // Only where the primary still has nothing: a request that wrote the session meanwhile holds the newer copy.
        if (await TimedAsync(primary, "set", () => primary.SetAsync(key, found.Value, lifetime, WriteCondition.WhenAbsent, async, token)).ConfigureAwait(false) is not null)
        {
            Repaired(primary);
            return found;
        }

        return await TimedAsync(primary, "get", () => primary.GetEntryAsync(key, async, token)).ConfigureAwait(false);
    }

    /// <summary>
    /// A set through <see cref="WriteAsync"/>: the primary's write returns the version it stored, and the secondary
    /// gets the value with that version only over an older one, so concurrent writers leave both stores holding the
    /// primary's last write.
    /// </summary>
    private ValueTask SetVersionedAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, bool async, CancellationToken token)
    {
        var bytes = value.IsSingleSegment ? value.First : value.ToArray();
        long? version = null;
        return WriteAsync(key, "set", async (store, a, t) =>
        {
            var written = await ((ISessionStore)store).SetAsync(key, bytes, options, version is { } v ? WriteCondition.WhenOlder(v) : WriteCondition.Always, a, t).ConfigureAwait(false);
            version ??= written;
        }, async, token);
    }

    private async ValueTask WriteAsync(string key, string operation, Func<IBufferDistributedCache, bool, CancellationToken, ValueTask> write, bool async, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        var (primary, secondary) = Stores(CurrentPhase());
        await TimedAsync(primary, operation, () => write(primary, async, token)).ConfigureAwait(false);
        if (secondary is null)
        {
            return;
        }

        // The secondary is written after the primary, never before: a background comparison that finds the
        // secondary ahead of the primary can then only be looking at a write still on its way, and leaves it be.
        var secondaryWrite = WriteSecondaryAsync(key, operation, secondary, write);
        if (async)
        {
            await secondaryWrite.ConfigureAwait(false);
        }
        else
        {
            // Safe to block: the secondary's continuations never need the caller's context, and it never throws.
            secondaryWrite.GetAwaiter().GetResult();
        }
    }

    private async Task WriteSecondaryAsync(string key, string operation, ISessionStore secondary, Func<IBufferDistributedCache, bool, CancellationToken, ValueTask> write)
    {
        var timeout = _options.CurrentValue.SecondaryTimeout;
        using var cancellation = new CancellationTokenSource(timeout, _time);
        try
        {
            await TimedAsync(secondary, operation, () => write(secondary, true, cancellation.Token)).AsTask().WaitAsync(timeout, _time).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            SecondaryFailed(secondary, operation, key, e);
        }
    }

    private void ScheduleComparison(string key, SessionStorePhase phase, ISessionStore primary, ISessionStore secondary)
    {
        // Comparisons are best effort: past a bound on those waiting, a sample is skipped, not queued.
        if (Interlocked.Increment(ref _pendingComparisons) > MaximumPendingComparisons)
        {
            Interlocked.Decrement(ref _pendingComparisons);
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                // Wait first, holding no slot: the request's own write-back lands meanwhile and is not reported.
                await Task.Delay(ComparisonDelay, _time).ConfigureAwait(false);
                await _comparisons.WaitAsync().ConfigureAwait(false);
                try
                {
                    await CompareAsync(key, phase, primary, secondary).ConfigureAwait(false);
                }
                finally
                {
                    _comparisons.Release();
                }
            }
            catch (Exception e)
            {
                LogComparisonFailed(KeyHash.Of(key), e);
            }
            finally
            {
                Interlocked.Decrement(ref _pendingComparisons);
            }
        });
    }

    private async Task CompareAsync(string key, SessionStorePhase phase, ISessionStore primary, ISessionStore secondary)
    {
        var tolerance = _options.CurrentValue.ExpiryTolerance;
        if (await ClassifyAsync().ConfigureAwait(false) is null)
        {
            return;
        }

        // Read both again before reporting: a write that landed between the two reads is not a mismatch.
        if (await ClassifyAsync().ConfigureAwait(false) is not var (primaryEntry, secondaryEntry, kind))
        {
            return;
        }

        // The primary is the truth: the secondary gets the primary's copy, so that the next phase change (forward
        // or back) finds the same session in both stores — but only if the secondary still holds what was compared,
        // so a write that raced this comparison is never overwritten with an older copy.
        var condition = secondaryEntry is null ? WriteCondition.WhenAbsent : WriteCondition.WhenUnchanged(secondaryEntry.Value);
        if (primaryEntry.Expiry.ToEntryOptions() is { } lifetime
            && await secondary.SetAsync(key, primaryEntry.Value, lifetime, condition, async: true, CancellationToken.None).ConfigureAwait(false) is not null)
        {
            Repaired(secondary);
        }

        Interlocked.Increment(ref _mismatches[(int)kind]);
        _instruments.Mismatch(kind);
        var mismatch = new SessionMismatch(kind, phase, KeyHash.Of(key));
        LogMismatch(mismatch.Kind, mismatch.Phase, mismatch.KeyHash);
        _options.CurrentValue.OnMismatch?.Invoke(mismatch);

        // The secondary is read first: writes reach it after the primary, so a secondary copy newer than the
        // primary's cannot be read here, and an older one is what the repair's condition expects.
        async Task<(StoredEntry Primary, StoredEntry? Secondary, SessionMismatchKind Kind)?> ClassifyAsync()
        {
            var s = await secondary.GetEntryAsync(key, async: true, CancellationToken.None).ConfigureAwait(false);
            var p = await primary.GetEntryAsync(key, async: true, CancellationToken.None).ConfigureAwait(false);
            return p is not null && SessionComparison.Classify(p, s, tolerance) is { } found ? (p, s, found) : null;
        }
    }

    private SessionStorePhase CurrentPhase()
    {
        var configured = _options.CurrentValue.Phase;
        if (configured == _phase)
        {
            return configured;
        }

        lock (_phaseLock)
        {
            if (configured == _phase || configured == _lastRefusedPhase)
            {
                return _phase;
            }

            var failures = configured == SessionStorePhase.Unspecified
                ? [SessionStoreOptions.NoPhase(configuredValue: null)]
                : _options.CurrentValue.StoreFailures(configured).ToList();
            if (failures.Count > 0)
            {
                _lastRefusedPhase = configured;
                LogPhaseRefused(configured, _phase, string.Join(" ", failures));
                return _phase;
            }

            LogPhaseChanged(_phase, configured);
            _lastRefusedPhase = null;
            _phase = configured;
            return configured;
        }
    }

    /// <summary>In a single-store phase, the other store when it is configured (a rollback would use it again).</summary>
    private ISessionStore? IdleStore(SessionStorePhase phase)
    {
        var other = phase == SessionStorePhase.RedisOnly ? SessionStorePhase.PostgresOnly : SessionStorePhase.RedisOnly;
        return _options.CurrentValue.StoreFailures(other).Any() ? null : Stores(other).Primary;
    }

    private (ISessionStore Primary, ISessionStore? Secondary) Stores(SessionStorePhase phase) => phase switch
    {
        SessionStorePhase.RedisOnly => (_redis.Value, null),
        SessionStorePhase.DualWriteRedisPrimary => (_redis.Value, _postgres.Value),
        SessionStorePhase.DualWritePostgresPrimary => (_postgres.Value, _redis.Value),
        SessionStorePhase.PostgresOnly => (_postgres.Value, null),
        _ => throw new InvalidOperationException($"No valid phase is configured; valid phases: {SessionStorePhaseConverter.ValidValues}."),
    };

    private async ValueTask<T> TimedAsync<T>(ISessionStore store, string operation, Func<ValueTask<T>> run)
    {
        var started = _time.GetTimestamp();
        try
        {
            return await run().ConfigureAwait(false);
        }
        finally
        {
            _instruments.RecordDuration(store.Name, operation, _time.GetElapsedTime(started));
        }
    }

    private async ValueTask TimedAsync(ISessionStore store, string operation, Func<ValueTask> run) =>
        await TimedAsync(store, operation, async () =>
        {
            await run().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);

    private void SecondaryFailed(ISessionStore secondary, string operation, string? key, Exception e)
    {
        Interlocked.Increment(ref _secondaryFailures);
        _instruments.SecondaryFailed(secondary.Name, operation);
        LogSecondaryFailed(_options.CurrentValue.SecondaryFailureLogLevel, secondary.Name, operation, key is null ? "(none)" : KeyHash.Of(key), e);
    }

    private void Repaired(ISessionStore store)
    {
        Interlocked.Increment(ref _readRepairs);
        _instruments.Repaired(store.Name);
    }

    /// <summary>A failure of the store, as opposed to a bad argument or the caller giving up.</summary>
    private static bool IsStoreFailure(Exception e, CancellationToken token) =>
        e is not (ArgumentException or ObjectDisposedException) && !(e is OperationCanceledException && token.IsCancellationRequested);

    private static ValueTask Sync(Action action)
    {
        action();
        return ValueTask.CompletedTask;
    }
}
