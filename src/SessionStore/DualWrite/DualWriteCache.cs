using System.Buffers;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SessionStore.DependencyInjection.Internal;
using SessionStore.Diagnostics;
using SessionStore.DualWrite.Internal;
using SessionStore.Internal;

namespace SessionStore.DualWrite;

/// <summary>
/// The cache of a Redis-to-PostgreSQL migration: it sends each operation to the stores of the current
/// <see cref="SessionStorePhase"/>, read live from configuration. The primary's result is the request's result;
/// the secondary is written right after it, bounded in time and behind a circuit breaker, and its failures are
/// logged and counted, never thrown; the keys it missed are copied to it once it answers again. Reads missing in
/// the primary are repaired from the secondary, and a sample of hits is compared with the secondary in the background.
/// </summary>
/// <remarks>
/// Each job lives in its own type under <c>DualWrite/Internal</c>: <see cref="PhaseResolver"/> (the phase and its
/// guard), <see cref="PhaseRoles"/> and <see cref="StoreRouting"/> (which store does what), <see cref="PrimaryCalls"/>
/// and <see cref="SecondaryCalls"/> (time bounds and circuit breakers: what happens when a store hangs),
/// <see cref="SecondaryWriter"/>, <see cref="ReadRepair"/>, <see cref="BackgroundComparison"/>, <see cref="CatchUp"/>
/// and <see cref="Revocation"/>.
/// </remarks>
public sealed class DualWriteCache : IBufferDistributedCache, IUserSessionRevoker, IDisposable
{
    private readonly LastValidOptionsMonitor<SessionStoreOptions> _options;
    private readonly StoreRouting _routing;
    private readonly PhaseResolver _phase;
    private readonly StoreBreakers _breakers;
    private readonly DualWriteCounters _counters;
    private readonly PrimaryCalls _primary;
    private readonly SecondaryWriter _secondaryWriter;
    private readonly SecondaryCalls _secondaryCalls;
    private readonly ReadRepair _readRepair;
    private readonly BackgroundComparison _comparison;
    private readonly CatchUp _catchUp;
    private readonly Revocation _revocation;
    private readonly SecondaryTouches _touches;
    private readonly SessionLocks _locks;
    private readonly UnacknowledgedWrites _unacknowledged;
    private readonly TimeProvider _time;
    private int _disposed;

    internal DualWriteCache(
        IOptionsMonitor<SessionStoreOptions> options,
        Func<SessionStoreOptions, ISessionCacheProvider> buildPostgres,
        Func<SessionStoreOptions, ISessionCacheProvider> buildRedis,
        PhaseSource phaseSource,
        SessionStoreInstruments instruments,
        TimeProvider time,
        ILogger<DualWriteCache> logger)
    {
        // A reload that breaks a setting read live is logged and the last valid settings stay in force; the phase
        // switch it carries is refused too (PhaseResolver), so an edit is applied whole or not at all.
        _options = new LastValidOptionsMonitor<SessionStoreOptions>(options, o => o.TuningFailures(), SessionStoreOptions.SectionName, logger);
        _time = time;
        _touches = new SecondaryTouches(time);
        Func<SessionStoreOptions> current = () => _options.CurrentValue;
        _locks = new SessionLocks(current);
        void KeptPrevious(StoreUnavailableException e) =>
            DualWriteLog.StoreUnavailable(logger, e.Message, StoreUnavailableException.SettingOf(e.Kind), e.InnerException!);
        void Rebuilt(StoreKind kind, string[] changed) =>
            DualWriteLog.StoreRebuilt(logger, PhaseRoles.NameOf(kind), $"{SessionStoreOptions.SectionName}:{(kind == StoreKind.Postgres ? nameof(SessionStoreOptions.Postgres) : nameof(SessionStoreOptions.Redis))}", string.Join(", ", changed));
        _routing = new StoreRouting(
            new RebuildableStore(StoreKind.Redis, current, o => ConnectionSettings.Of(o.Redis), buildRedis, KeptPrevious, Rebuilt, time),
            new RebuildableStore(StoreKind.Postgres, current, o => ConnectionSettings.Of(o.Postgres), buildPostgres, KeptPrevious, Rebuilt, time));
        _phase = new PhaseResolver(options, _routing, phaseSource, logger);
        _counters = new DualWriteCounters(instruments, current, logger);
        CatchUp? catchUp = null;
        var breakerSettings = options.CurrentValue;
        // The breakers and the catch-up's capacity are built once, from these. A hosted service that needs the cache
        // (the cleanup) builds it before the start-up validation runs, so an out-of-range value stops start-up here,
        // with the validation's message naming the key, rather than with Polly's.
        if (breakerSettings.TuningFailures() is { Count: > 0 } failures)
        {
            throw new OptionsValidationException(SessionStoreOptions.SectionName, typeof(SessionStoreOptions), failures);
        }

        _breakers = new StoreBreakers(kind => new StoreBreaker(
            kind,
            breakerSettings,
            time,
            (k, duration) => DualWriteLog.BreakerOpened(logger, PhaseRoles.NameOf(k), duration),
            k => catchUp?.Resume(k)));
        _primary = new PrimaryCalls(_breakers, instruments, time);
        _secondaryCalls = new SecondaryCalls(_breakers, current, _counters, _primary, time);
        _unacknowledged = new UnacknowledgedWrites(breakerSettings.CatchUpCapacity);
        var convergence = new SecondaryConvergence(_secondaryCalls, _counters, _unacknowledged, (store, key, value) => _revocation!.Written(store, key, value), () => _secondaryWriter!); // assigned below, before any copy
        _catchUp = catchUp = new CatchUp(
            breakerSettings.CatchUpCapacity, _routing, _breakers, convergence, _locks, _counters, current, () => _phase.Phase,
            async (store, kind, userId, t) => (await _revocation!.TryRevokeBestEffortAsync(store, kind, userId, t).ConfigureAwait(false)).Done, time, logger); // assigned below, before any call
        _secondaryWriter = new SecondaryWriter(_secondaryCalls, _catchUp);
        _readRepair = new ReadRepair(_secondaryCalls, _primary, _locks, _counters, (kind, userId) => _revocation!.IsUnderWay(kind, userId), (kind, key) => _catchUp.Backlog(kind).RemovalPending(key));
        _comparison = new BackgroundComparison(_secondaryCalls, convergence, _locks, _counters, current, time, logger);
        _revocation = new Revocation(_routing, current, _primary, _secondaryCalls, _breakers, _catchUp, convergence, time);
        instruments.ObserveDualWrite(
            () => _breakers.All.Select(b => new Measurement<int>((int)b.State, SessionStoreInstruments.StoreTag(PhaseRoles.NameOf(b.Kind)))),
            () => _breakers.All.Select(b => new Measurement<long>(_catchUp.Backlog(b.Kind).Count, SessionStoreInstruments.StoreTag(PhaseRoles.NameOf(b.Kind)))));
    }

    /// <summary>The phase in force: the configured one, unless it is invalid, skips a step, or needs a store that is not configured.</summary>
    public SessionStorePhase Phase => _phase.Phase;

    /// <summary>Counts since start-up, for status pages; the same figures are published as metrics.</summary>
    /// <returns>A snapshot of the counters.</returns>
    public DualWriteStatistics GetStatistics() => new(
        _phase.Phase,
        _counters.SecondaryFailures,
        _counters.ReadRepairs,
        _counters.Mismatches,
        _counters.Failovers)
    {
        Breakers = _breakers.All.ToDictionary(b => PhaseRoles.NameOf(b.Kind), b => b.State),
        CatchUpBacklog = _breakers.All.ToDictionary(b => PhaseRoles.NameOf(b.Kind), b => (long)_catchUp.Backlog(b.Kind).Count),
        CatchUpOverflow = _breakers.All.Sum(b => _catchUp.Backlog(b.Kind).Overflow),
        CatchUpReplayed = _counters.CatchUpReplayed,
        PendingComparisons = _comparison.Pending,
        Comparisons = _counters.ComparisonsWith(ComparisonOutcome.Equal) + _counters.ComparisonsWith(ComparisonOutcome.Mismatch),
        ComparisonsInFlux = _counters.ComparisonsWith(ComparisonOutcome.InFlux),
    };

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
    /// <remarks>
    /// In a dual phase a refresh right after a read of the same key (the session middleware's read-only request)
    /// reaches no store when the read showed the touch not due; otherwise the primary is refreshed and the
    /// secondary touched after it (see <see cref="SecondaryTouches"/>).
    /// </remarks>
    public void Refresh(string key) => RefreshCoreAsync(key, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    /// <remarks>As <see cref="Refresh"/>.</remarks>
    public async Task RefreshAsync(string key, CancellationToken token = default) =>
        await RefreshCoreAsync(key, async: true, token).ConfigureAwait(false);

    /// <inheritdoc />
    public void Remove(string key) =>
        RemoveCoreAsync(key, "remove", (store, async, token) => async ? new ValueTask(store.RemoveAsync(key, token)) : Sync(() => store.Remove(key)), async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task RemoveAsync(string key, CancellationToken token = default) =>
        await RemoveCoreAsync(key, "remove", (store, async, t) => async ? new ValueTask(store.RemoveAsync(key, t)) : Sync(() => store.Remove(key)), async: true, token).ConfigureAwait(false);

    /// <inheritdoc />
    /// <remarks>
    /// Runs in every store the phase uses, and fails if any of them fails or does not answer in time. It also
    /// runs, best effort, in a configured store the phase does not use: a copy left there would be read-repaired
    /// back after a rollback, and the user would be signed in again.
    /// </remarks>
    public Task<long> RevokeUserSessionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        CacheArguments.ValidateUserId(userId);
        return SessionStoreActivities.TraceOperationAsync("revoke", (cache: this, userId, cancellationToken), static s => s.cache.Phase, static s => new ValueTask<long>(s.cache._revocation.RevokeAsync(s.cache._phase.Current(), s.userId, s.cancellationToken)), cancellationToken).AsTask();
    }

    /// <summary>"Log out everywhere" as <see cref="RevokeUserSessionsAsync"/>, with what it did in each store, failures returned rather than thrown (for the tool's report).</summary>
    internal Task<IReadOnlyList<StoreRevocation>> RevokeInEachStoreAsync(string userId, CancellationToken cancellationToken)
    {
        CacheArguments.ValidateUserId(userId);
        return _revocation.RevokeEachAsync(_phase.Current(), userId, cancellationToken);
    }

    /// <summary>Disposes the stores the cache created.</summary>
    public void Dispose()
    {
        // The container disposes the cache once per service it is registered as.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _catchUp.Dispose();
        _routing.Dispose();
        _comparison.Dispose();
        _options.Dispose();
    }

    /// <summary>The PostgreSQL store, built on first use.</summary>
    internal ISessionCacheProvider PostgresStore => _routing.Store(StoreKind.Postgres).Get();

    /// <summary>The options in force: the configured ones, or the last valid ones while a reload is invalid.</summary>
    internal SessionStoreOptions Settings => _options.CurrentValue;

    /// <summary>The phase in force and its stores.</summary>
    internal Route CurrentRoute() => _phase.Current();

    /// <summary>Sessions with a turn held or awaited (<see cref="SessionLocks"/>), for tests.</summary>
    internal int SessionsInTurn => _locks.Count;

    /// <summary>A store's circuit breaker and catch-up backlog, for health checks.</summary>
    internal (StoreBreaker Breaker, CatchUpBacklog Backlog, int PendingRevocations) StateOf(StoreKind kind) =>
        (_breakers.For(kind), _catchUp.Backlog(kind), _catchUp.Backlog(kind).RevocationCount);

    /// <summary>Pings a store through its circuit breaker (so a health check can be the probe that closes it), bounded by <paramref name="timeout"/>.</summary>
    internal ValueTask<bool> PingAsync(ISessionCacheProvider store, StoreKind kind, TimeSpan timeout, CancellationToken token) =>
        _breakers.For(kind).ExecuteAsync(
            static async (call, t) =>
            {
                await Bounded.RunAsync(call.store.Name, "ping", c => new ValueTask(call.store.PingAsync(c)), call.timeout, nameof(SessionStoreOptions.HealthCheckTimeout), call.time, t).ConfigureAwait(false);
                return true;
            },
            (store, timeout, time: _time),
            token);

    private ValueTask<StoredEntry?> ReadAsync(string key, bool async, CancellationToken token) =>
        SessionStoreActivities.TraceOperationAsync("get", (cache: this, key, async, token), static s => s.cache.Phase, static s => s.cache.ReadUntracedAsync(s.key, s.async, s.token), token);

    private async ValueTask<StoredEntry?> ReadUntracedAsync(string key, bool async, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        var route = _phase.Current();
        var sentAt = _time.GetTimestamp();
        StoredEntry? entry;
        try
        {
            entry = await _primary.RunAsync(route.Primary, route.PrimaryKind, "get", key, (s, a, t) => s.GetEntryAsync(key, a, t), async, token).ConfigureAwait(false);
        }
        catch (Exception e) when (route.Secondary is not null && _options.CurrentValue.FailoverReadsToSecondary && StoreFailures.IsStoreFailure(e, token))
        {
            var (done, fromSecondary) = await Blocking(
                _secondaryCalls.TryRunAsync(route.Secondary, route.SecondaryKind!.Value, "get", key, (s, t) => s.GetEntryAsync(key, async: true, t), token), async).ConfigureAwait(false);
            if (!done)
            {
                throw;
            }

            _counters.FailedOver(route.Primary.Name, key, e);
            return fromSecondary;
        }

        if (route.Secondary is null)
        {
            return entry;
        }

        if (entry is null)
        {
            return await Blocking(_readRepair.RepairAsync(route, key, async, token), async).ConfigureAwait(false);
        }

        _comparison.MaybeSchedule(route, key);
        var threshold = TouchThreshold(route.PrimaryKind);
        if (SecondaryTouches.PrimaryMayHaveTouched(entry.Expiry, threshold))
        {
            // Rare (once per touch threshold of a session's window): the one read-only case that costs the secondary a round trip.
            await Blocking(_secondaryWriter.WriteAsync(route, key, "refresh", (s, t) => s.TouchAsync(key, t), token), async).ConfigureAwait(false);
        }

        _touches.Record(key, route.PrimaryKind, sentAt, entry.Expiry);
        return entry;
    }

    private ValueTask RefreshCoreAsync(string key, bool async, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        var route = _phase.Current();
        if (route.Secondary is not null && _touches.RefreshIsNoOp(key, route.PrimaryKind, TouchThreshold(route.PrimaryKind)))
        {
            return ValueTask.CompletedTask;
        }

        // The secondary is touched without its own threshold: a touch the primary just made must land there too.
        return WriteAsync(
            key,
            "refresh",
            (store, a, t) => a ? new ValueTask(store.RefreshAsync(key, t)) : Sync(() => store.Refresh(key)),
            async,
            token,
            (store, t) => store.TouchAsync(key, t));
    }

    private ValueTask RemoveCoreAsync(string key, string operation, Func<IBufferDistributedCache, bool, CancellationToken, ValueTask> remove, bool async, CancellationToken token)
    {
        _touches.Forget(key);
        return WriteAsync(key, operation, remove, async, token);
    }

    private double TouchThreshold(StoreKind kind) =>
        kind == StoreKind.Postgres ? _options.CurrentValue.Postgres.TouchThreshold : _options.CurrentValue.Redis.TouchThreshold;

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
            var written = await ((ISessionCacheProvider)store).SetAsync(key, bytes, options, version is { } v ? WriteCondition.WhenOlder(v) : WriteCondition.Always, a, t).ConfigureAwait(false);
            if (version is not null && written is not null)
            {
                // The secondary took it: a revoke of its user under way brings it in line with the primary afterwards.
                _revocation.Written((ISessionCacheProvider)store, key, bytes);
            }

            version ??= written;
        }, async, token, setValue: bytes);
    }

    private ValueTask WriteAsync(
        string key,
        string operation,
        Func<IBufferDistributedCache, bool, CancellationToken, ValueTask> write,
        bool async,
        CancellationToken token,
        Func<ISessionCacheProvider, CancellationToken, ValueTask>? secondaryWrite = null,
        ReadOnlyMemory<byte>? setValue = null) =>
        SessionStoreActivities.TraceOperationAsync(operation, (cache: this, key, operation, write, async, token, secondaryWrite, setValue), static s => s.cache.Phase, static s => s.cache.WriteUntracedAsync(s.key, s.operation, s.write, s.async, s.token, s.secondaryWrite, s.setValue), token);

    private async ValueTask WriteUntracedAsync(
        string key,
        string operation,
        Func<IBufferDistributedCache, bool, CancellationToken, ValueTask> write,
        bool async,
        CancellationToken token,
        Func<ISessionCacheProvider, CancellationToken, ValueTask>? secondaryWrite,
        ReadOnlyMemory<byte>? setValue)
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        var route = _phase.Current();
        // A removal in a single-store phase goes on to the other configured store: it takes the session's turn too, so
        // that a read under the adjacent dual phase (a reload meanwhile) cannot repair back the copy it is removing.
        var idle = route.Secondary is null && operation == "remove" ? _routing.Idle(route, _options.CurrentValue) : null;
        using var turn = route.Secondary is null && idle is null ? default(SessionLocks.Turn?) : await _locks.EnterAsync(key, route.Primary, operation, async, token).ConfigureAwait(false);
        try
        {
            await _primary.RunAsync(route.Primary, route.PrimaryKind, operation, key, write, async, token).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFailures.IsStoreFailure(e, CancellationToken.None))
        {
            // A primary write that timed out may still land: the secondary is brought up to the primary's copy later,
            // unless the other store took a newer write by then (a step away from the hung store), which it keeps.
            if (setValue is { } value && e is not (StoreCircuitOpenException or SessionStoreTimeoutException { NotSent: true }))
            {
                _unacknowledged.Add(route.PrimaryKind, key, value.Span);
            }

            if (route.SecondaryKind is { } secondaryKind)
            {
                _catchUp.Missed(secondaryKind, key, removed: operation == "remove", keepsRemoval: true);
            }

            throw;
        }

        // Acknowledged: the primary holds the session's newest write, whatever it missed or failed to take before
        // (a removal that timed out there, then a step away from it and back). A refresh writes nothing new.
        if (operation != "refresh")
        {
            _unacknowledged.Acknowledged(route.PrimaryKind, key);
            _catchUp.Backlog(route.PrimaryKind).Superseded(key);
        }

        if (route.Secondary is null)
        {
            if (idle is { } other)
            {
                await Blocking(RemoveFromIdleStoreAsync(other.Store, other.Kind, key, token), async).ConfigureAwait(false);
            }

            return;
        }

        // The secondary is written after the primary, never before: a background comparison that finds the
        // secondary ahead of the primary can then only be looking at a write still on its way, and leaves it be.
        await Blocking(_secondaryWriter.WriteAsync(route, key, operation, secondaryWrite ?? ((s, t) => write(s, true, t)), token), async).ConfigureAwait(false);
    }

    /// <summary>
    /// A removal in a single-store phase, in the other configured store: best effort, bounded like a secondary's
    /// call. A copy left there would be read-repaired back by the adjacent dual phase and sign the user in again, so
    /// one the call could not remove waits in the catch-up backlog until that store answers.
    /// </summary>
    private async Task RemoveFromIdleStoreAsync(ISessionCacheProvider idle, StoreKind kind, string key, CancellationToken token)
    {
        if (!await _secondaryCalls.TryRunAsync(idle, kind, "remove", key, (s, t) => StoreRouting.ClearInIdleAsync(() => new ValueTask(s.RemoveAsync(key, t))), token).ConfigureAwait(false))
        {
            _catchUp.Missed(kind, key, removed: true);
        }
    }

    /// <summary>
    /// The secondary is always called asynchronously, so that a hung one can be abandoned; on a synchronous
    /// path its bounded task is waited for here.
    /// </summary>
    private static ValueTask<T> Blocking<T>(ValueTask<T> pending, bool async) =>
        async || pending.IsCompleted ? pending : new ValueTask<T>(pending.AsTask().GetAwaiter().GetResult());

    /// <summary>As <see cref="Blocking{T}(ValueTask{T}, bool)"/>: safe to block, the secondary's continuations never need the caller's context.</summary>
    private static ValueTask Blocking(Task pending, bool async)
    {
        if (!async)
        {
            pending.GetAwaiter().GetResult();
        }

        return new ValueTask(pending);
    }

    private static ValueTask Sync(Action action)
    {
        action();
        return ValueTask.CompletedTask;
    }
}
