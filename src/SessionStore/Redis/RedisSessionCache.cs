using System.Buffers;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SessionStore.Internal;
using SessionStore.Redis.Internal;
using StackExchange.Redis;

namespace SessionStore.Redis;

/// <summary>
/// An <see cref="IDistributedCache"/> on Redis that reads and writes exactly the format of Microsoft's
/// <c>RedisCache</c>, so both can share live sessions, while a read-only session request costs one round trip
/// instead of four: a server-side script reads and, when due, extends the sliding expiry, and the
/// <c>Refresh</c> that follows a read is answered without I/O.
/// </summary>
public sealed partial class RedisSessionCache : ISessionCacheProvider, IDisposable
{
    private const string StoreName = "redis";
    private const int MaximumVersionAttempts = 10;

    private readonly RedisSessionCacheOptions _options;
    private readonly ConfigurationOptions? _configuration;
    private readonly RedisKey _prefix;
    private readonly byte[] _userIdKey;
    private readonly RecentReads _recentReads;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private volatile IDatabase? _database;
    private IConnectionMultiplexer? _ownedConnection;
    private string _endpoints;
    private volatile bool _scriptingAvailable;
    private long _lastTopologyRefresh = long.MinValue / 2;

    /// <summary>Creates a cache from its options.</summary>
    /// <param name="optionsAccessor">The options; validated here, before any connection is made.</param>
    public RedisSessionCache(IOptions<RedisSessionCacheOptions> optionsAccessor)
        : this(optionsAccessor, NullLogger<RedisSessionCache>.Instance, TimeProvider.System)
    {
    }

    /// <summary>Creates a cache from its options, with a logger and a clock.</summary>
    /// <param name="optionsAccessor">The options; validated here, before any connection is made.</param>
    /// <param name="logger">Receives the one-time notice that the server refuses scripts.</param>
    /// <param name="timeProvider">The clock for absolute expirations (as <c>RedisCache</c> uses the client clock) and refresh elision.</param>
    /// <exception cref="OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public RedisSessionCache(IOptions<RedisSessionCacheOptions> optionsAccessor, ILogger<RedisSessionCache> logger, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(optionsAccessor);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = optionsAccessor.Value;
        _options.ThrowIfInvalid();
        _scriptingAvailable = _options.UseScripts != false;

        _logger = logger;
        _time = timeProvider;
        if (_options.ConnectionMultiplexerFactory is null)
        {
            _configuration = RedisConnectionSettings.Bounded(_options.ConfigurationOptions ?? ConfigurationOptions.Parse(_options.Configuration!), _options.OperationTimeout);
        }

        _endpoints = _configuration is null ? "the server of ConnectionMultiplexerFactory" : EndpointNames.Describe(_configuration.EndPoints);
        _prefix = string.IsNullOrEmpty(_options.InstanceName) ? default : (RedisKey)Encoding.UTF8.GetBytes(_options.InstanceName);
        _userIdKey = _options.UserIdSessionKeyUtf8;
        _recentReads = new RecentReads(timeProvider, _options.TouchThreshold);
    }

    /// <inheritdoc />
    public byte[]? Get(string key) => Wait(ReadAsync(key, wantData: true, CancellationToken.None))?.Value;

    /// <summary>The connection settings the cache connects with when it builds the connection itself; null when it borrows one.</summary>
    internal ConfigurationOptions? ConnectionSettings => _configuration;

    /// <inheritdoc />
    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default) =>
        (await ReadAsync(key, wantData: true, token).ConfigureAwait(false))?.Value;

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
        Wait(SetCoreAsync(key, value, options, WriteCondition.Always, CancellationToken.None));
    }

    /// <inheritdoc />
    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        await SetCoreAsync(key, value, options, WriteCondition.Always, token).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) =>
        Wait(SetCoreAsync(key, Linearize(value), options, WriteCondition.Always, CancellationToken.None));

    /// <inheritdoc />
    public async ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        await SetCoreAsync(key, Linearize(value), options, WriteCondition.Always, token).ConfigureAwait(false);

    /// <inheritdoc />
    public void Refresh(string key) => Wait(ReadAsync(key, wantData: false, CancellationToken.None));

    /// <inheritdoc />
    public async Task RefreshAsync(string key, CancellationToken token = default) =>
        await ReadAsync(key, wantData: false, token).ConfigureAwait(false);

    /// <inheritdoc />
    public void Remove(string key) => Wait(RemoveCoreAsync(key, CancellationToken.None));

    /// <inheritdoc />
    public async Task RemoveAsync(string key, CancellationToken token = default) =>
        await RemoveCoreAsync(key, token).ConfigureAwait(false);

    string ISessionCacheProvider.Name => StoreName;

    TimeSpan ISessionCacheProvider.OperationTimeout => _options.OperationTimeout;

    string? ISessionCacheProvider.UserIdOf(ReadOnlySpan<byte> value) => UserIdOf(value);

    ValueTask<StoredEntry?> ISessionCacheProvider.GetEntryAsync(string key, bool async, CancellationToken token) =>
        async ? ReadAsync(key, wantData: true, token) : new(Wait(ReadAsync(key, wantData: true, token)));

    async ValueTask ISessionCacheProvider.TouchAsync(string key, CancellationToken token) =>
        await BoundedAsync("refresh", t => ReadCoreAsync(key, wantData: false, t, touchThreshold: 0), token).ConfigureAwait(false);

    ValueTask<long?> ISessionCacheProvider.SetAsync(string key, ReadOnlyMemory<byte> value, DistributedCacheEntryOptions options, WriteCondition condition, bool async, CancellationToken token) =>
        async ? SetCoreAsync(key, value, options, condition, token) : new(Wait(SetCoreAsync(key, value, options, condition, token)));

    async Task ISessionCacheProvider.PingAsync(CancellationToken token) =>
        await BoundedAsync("ping", async t =>
        {
            var database = await ConnectAsync(t).ConfigureAwait(false);
            try
            {
                return await database.PingAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                throw Failure("ping", e);
            }
        }, token).ConfigureAwait(false);

    /// <inheritdoc />
    /// <remarks>
    /// Each user has a set of session keys, kept up to date by <c>Set</c> and expiring with the longest-lived of
    /// them. Members are checked against the session they name before it is deleted: a session that now belongs
    /// to someone else, or is gone, is only dropped from the set. Every command touches one key, so this works
    /// unchanged on Redis Cluster.
    /// </remarks>
    public async Task<long> RevokeUserSessionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        CacheArguments.ValidateUserId(userId);
        return await BoundedAsync("revoke", t => RevokeCoreAsync(userId, t), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes the connection when the cache made it; a borrowed one is left open.</summary>
    public void Dispose()
    {
        // Without waiting for commands to complete: a graceful close sends QUIT, which a hung server holds for a whole
        // timeout, at every shutdown (and at the end of each tool) after the call that found it hung.
        _ownedConnection?.Close(allowCommandsToComplete: false);
        _ownedConnection?.Dispose();
        _connectLock.Dispose();
    }

    private async ValueTask<long> RevokeCoreAsync(string userId, CancellationToken cancellationToken)
    {
        var database = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Run again whole when refused while a cluster changes, as every other operation: each step is idempotent.
            return await RetryWhileClusterChangesAsync("revoke", () => RevokeOnceAsync(database, userId), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure("revoke", e);
        }
    }

    private async ValueTask<long> RevokeOnceAsync(IDatabase database, string userId)
    {
        var index = UserIndexKey(userId);
        var members = await database.SetMembersAsync(index).ConfigureAwait(false);
        if (members.Length == 0)
        {
            return 0;
        }

        var sessions = await Task.WhenAll(members.Select(m => database.HashGetAsync(_prefix.Append((string)m!), RedisEntry.DataField))).ConfigureAwait(false);
        var isOwned = sessions.Select(s => UserIdOf((byte[]?)s) == userId).ToArray();
        var owned = members.Where((_, i) => isOwned[i]).ToArray();
        var deleted = await Task.WhenAll(owned.Select(m => database.KeyDeleteAsync(_prefix.Append((string)m!)))).ConfigureAwait(false);

        // A deleted session stays in the index until the next revoke finds it gone: a write of it racing this
        // revoke (its index entry added before, its entry written after the delete) is then still found by the
        // next one, which the dual-write cache makes shortly after (Revocation).
        if (members.Where((_, i) => !isOwned[i]).ToArray() is { Length: > 0 } stale)
        {
            await database.SetRemoveAsync(index, stale).ConfigureAwait(false);
        }

        foreach (var member in owned)
        {
            _recentReads.Forget((string)member!);
        }

        return deleted.Count(d => d);
    }

    /// <summary>
    /// Runs an asynchronous operation within <see cref="SessionCacheProviderOptions.OperationTimeout"/> and the caller's
    /// token: StackExchange.Redis ignores tokens, so the cache stops waiting and the multiplexer drops the abandoned
    /// command when its own <c>AsyncTimeout</c> passes, without harm to the shared connection.
    /// </summary>
    private ValueTask<T> BoundedAsync<T>(string operation, Func<CancellationToken, ValueTask<T>> run, CancellationToken token) =>
        StoreDeadline.RunAsync(StoreName, operation, _endpoints, _options.OperationTimeout, run, token);

    /// <summary>
    /// The synchronous API: the asynchronous call, waited for as a Task. StackExchange.Redis 3 completes even its
    /// synchronous commands on the .NET thread pool, and waits for them in a way the pool does not see, so a burst
    /// of synchronous calls (the session middleware's Load, in an app that does not await LoadAsync) starved the
    /// pool until reads timed out, and the middleware read those sessions as empty: 92 of 290 reads of
    /// Chaos/SynchronousBurstTests' burst. A thread blocked on a Task is one the pool sees and replaces, at the pace of
    /// the runtime's ThreadPool.Blocking settings: none now.
    /// </summary>
    private static T Wait<T>(ValueTask<T> pending) => pending.IsCompleted ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private ValueTask<StoredEntry?> ReadAsync(string key, bool wantData, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        if (!wantData && _recentReads.RefreshIsNoOp(key))
        {
            return ValueTask.FromResult<StoredEntry?>(null);
        }

        return BoundedAsync(wantData ? "get" : "refresh", t => ReadCoreAsync(key, wantData, t), token);
    }

    private async ValueTask<StoredEntry?> ReadCoreAsync(string key, bool wantData, CancellationToken token, double? touchThreshold = null)
    {
        var threshold = touchThreshold ?? _options.TouchThreshold;
        var database = await ConnectAsync(token).ConfigureAwait(false);
        var entryKey = _prefix.Append(key);
        var operation = wantData ? "get" : "refresh";
        try
        {
            var (entry, touched) = await RetryWhileClusterChangesAsync(operation, () => ReadOnceAsync(database, key, entryKey, wantData, threshold), token).ConfigureAwait(false);
            if (touched is { } touch)
            {
                await KeepInUserIndexAsync(database, key, entryKey, touch, token).ConfigureAwait(false);
            }

            return entry;
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure(operation, e);
        }
    }

    /// <summary>One read, and the touch it made, if any, with the session's data when the script returned it.</summary>
    private async ValueTask<(StoredEntry? Entry, Touch? Touched)> ReadOnceAsync(IDatabase database, string key, RedisKey entryKey, bool wantData, double touchThreshold)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        if (_scriptingAvailable)
        {
            try
            {
                var result = await EvaluateScriptAsync(database, GetAndTouchScript.Sha1, GetAndTouchScript.Lua, entryKey, [nowTicks, touchThreshold, wantData ? 1 : 0, _userIdKey.Length > 0 ? 1 : 0]).ConfigureAwait(false);
                if (result.IsNull)
                {
                    return (null, null);
                }

                var fields = (RedisResult[])result!;
                var data = (byte[]?)fields[4];
                var expiry = RedisEntry.Expiry(RedisEntry.ReadTicks((RedisValue)fields[0]), RedisEntry.ReadTicks((RedisValue)fields[1]), (long)fields[2], nowTicks);
                return (Found(key, wantData ? data : null, expiry, RedisEntry.ReadVersion((RedisValue)fields[3])), (int)fields[5] == 1 ? new Touch(data, expiry) : null);
            }
            catch (Exception e) when (IsScriptingRefused(e))
            {
                StopUsingScripts(e);
            }
        }

        return await ReadWithoutScriptAsync(database, key, entryKey, wantData, nowTicks, touchThreshold).ConfigureAwait(false);
    }

    private static async ValueTask<RedisResult> EvaluateScriptAsync(IDatabase database, byte[] sha1, string lua, RedisKey entryKey, RedisValue[] arguments)
    {
        try
        {
            return await database.ScriptEvaluateAsync(sha1, [entryKey], arguments).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await database.ScriptEvaluateAsync(lua, [entryKey], arguments).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a touch, extends the index of the session's user as far (and adds the session again, should a revoke have
    /// taken it out): a session kept alive by reads alone, as the session middleware's read-only requests keep it,
    /// outlived an index that only writes extended, and "log out everywhere" no longer found it. Best effort: the read
    /// has its answer and must not fail for the index (a server out of memory refuses SADD; on a cluster the index
    /// lives on another node). A failure is logged, and the next touch tries again.
    /// </summary>
    private async ValueTask KeepInUserIndexAsync(IDatabase database, string key, RedisKey entryKey, Touch touch, CancellationToken token)
    {
        if (_userIdKey.Length == 0)
        {
            return;
        }

        try
        {
            var data = touch.Data ?? (byte[]?)await database.HashGetAsync(entryKey, RedisEntry.DataField).ConfigureAwait(false);
            if (data is not null && UserIdOf(data) is { } userId)
            {
                _ = await RetryWhileClusterChangesAsync("refresh", async () =>
                {
                    await RedisUserIndex.AddAsync(database, UserIndexKey(userId), key, touch.Expiry.Remaining).ConfigureAwait(false);
                    return true;
                }, token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // The type only: a message with details may name the index key, and so the user.
            LogUserIndexNotExtended(KeyHash.Of(key), e.GetType().Name);
        }
    }

    /// <summary>A touch a read made: the new expiry, and the session's data when the read returned it.</summary>
    private readonly record struct Touch(byte[]? Data, ExpiryState Expiry);

    /// <summary>
    /// The path for servers that refuse scripts: the fields and the TTL, pipelined in one round trip, then a second
    /// round trip only when a touch is due. Not a MULTI: on a cluster, a transaction whose slot is moving is
    /// discarded (EXECABORT) instead of redirected, and the two reads need no atomicity: a TTL read just after
    /// another client's write only decides whether this read extends it.
    /// </summary>
    private async ValueTask<(StoredEntry? Entry, Touch? Touched)> ReadWithoutScriptAsync(IDatabase database, string key, RedisKey entryKey, bool wantData, long nowTicks, double touchThreshold)
    {
        var fieldNames = wantData ? RedisEntry.AllFieldsAndVersion : RedisEntry.MetadataFields;
        var fieldsTask = database.HashGetAsync(entryKey, fieldNames);
        var ttlTask = database.KeyTimeToLiveAsync(entryKey);
        var fields = await fieldsTask.ConfigureAwait(false);
        var remaining = await ttlTask.ConfigureAwait(false);

        if (fields[0].IsNull && fields[1].IsNull)
        {
            return (null, null);
        }

        var ttl = remaining is { } left ? (long)left.TotalMilliseconds : -1;
        var expiry = RedisEntry.Expiry(RedisEntry.ReadTicks(fields[0]), RedisEntry.ReadTicks(fields[1]), ttl, nowTicks);
        Touch? touched = null;
        if (RedisEntry.DueTouch(expiry, touchThreshold) is { } target)
        {
            var lifetime = TimeSpan.FromMilliseconds(target);
            _ = await database.KeyExpireAsync(entryKey, lifetime).ConfigureAwait(false);
            expiry = expiry with { Remaining = lifetime };
            touched = new Touch(wantData ? (byte[]?)fields[2] : null, expiry);
        }

        return (Found(key, wantData ? (byte[]?)fields[2] : null, expiry, wantData ? RedisEntry.ReadVersion(fields[3]) : 0), touched);
    }

    /// <summary>A read's result; a read that returns data is remembered for refresh elision.</summary>
    private StoredEntry? Found(string key, byte[]? data, ExpiryState expiry, long version)
    {
        if (data is null)
        {
            return null;
        }

        _recentReads.Record(key, expiry);
        return new StoredEntry(data, expiry, version);
    }

    private ValueTask<long?> SetCoreAsync(string key, ReadOnlyMemory<byte> value, DistributedCacheEntryOptions options, WriteCondition condition, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        CacheArguments.ValidateValueLength(value.Length, _options.MaximumValueSize, nameof(RedisSessionCacheOptions.MaximumValueSize));
        var now = _time.GetUtcNow();
        var expiration = EntryExpiration.From(options, now);
        var userId = UserIdOf(value.Span);
        CacheArguments.ValidateRecordedUserId(userId);
        token.ThrowIfCancellationRequested();
        return BoundedAsync("set", t => WriteAsync(key, value, userId, expiration, now, condition, t), token);
    }

    private async ValueTask<long?> WriteAsync(string key, ReadOnlyMemory<byte> value, string? userId, EntryExpiration expiration, DateTimeOffset now, WriteCondition condition, CancellationToken token)
    {
        var database = await ConnectAsync(token).ConfigureAwait(false);
        var entryKey = _prefix.Append(key);
        var ttl = RedisEntry.TimeToLive(expiration, now);
        _recentReads.Forget(key);

        try
        {
            // The user index is another key, in another slot of a cluster, so it cannot share a script or a transaction
            // with the entry (CROSSSLOT). It is written first: a member whose entry then fails to be written is harmless
            // (revocation checks each member's owner), whereas an entry missing from its user's index would survive
            // "log out everywhere".
            if (userId is not null)
            {
                var indexKey = UserIndexKey(userId);
                _ = await RetryWhileClusterChangesAsync("set", async () =>
                {
                    await RedisUserIndex.AddAsync(database, indexKey, key, ttl).ConfigureAwait(false);
                    return true;
                }, token).ConfigureAwait(false);
            }

            return await RetryWhileClusterChangesAsync("set", () => WriteEntryAsync(database, entryKey, value, expiration, now, ttl, condition), token).ConfigureAwait(false);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure("set", e);
        }
    }

    /// <summary>The entry itself: one script call, or, where scripts are refused, plain commands (see <see cref="WriteEntryWithoutScriptAsync"/>).</summary>
    private async ValueTask<long?> WriteEntryAsync(IDatabase database, RedisKey entryKey, ReadOnlyMemory<byte> value, EntryExpiration expiration, DateTimeOffset now, TimeSpan? ttl, WriteCondition condition)
    {
        if (_scriptingAvailable)
        {
            try
            {
                var (mode, argument) = condition switch
                {
                    { IfAbsent: true } => ("n", RedisValue.EmptyString),
                    { IfValue: { } expected } => ("u", (RedisValue)expected),
                    { IfOlderThan: { } version } => ("o", (RedisValue)version),
                    _ => ("a", RedisValue.EmptyString),
                };
                RedisValue[] arguments =
                [
                    mode,
                    RedisEntry.Absolute(expiration, now)?.Ticks ?? RedisEntry.NotPresent,
                    expiration.Sliding?.Ticks ?? RedisEntry.NotPresent,
                    value,
                    ttl is { } t ? (long)t.TotalMilliseconds : -1,
                    argument,
                ];
                var result = await EvaluateScriptAsync(database, SetScript.Sha1, SetScript.Lua, entryKey, arguments).ConfigureAwait(false);
                return result.IsNull ? null : RedisEntry.ReadVersion((RedisValue)result);
            }
            catch (Exception e) when (IsScriptingRefused(e))
            {
                StopUsingScripts(e);
            }
        }

        return await WriteEntryWithoutScriptAsync(database, entryKey, value, expiration, now, ttl, condition).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes for servers that refuse scripts: a transaction on the one key (kept, unlike on the read path, because
    /// a conditional write needs its WATCH and an entry must never be left without its TTL); a cluster that discards
    /// it while the slot moves (EXECABORT) ran none of it, so the caller retries it whole. Without a script the server's clock
    /// cannot be read in the write, so an ordinary write's version is this client's clock in microseconds
    /// (ordered across instances only as well as their clocks agree); a copy keeps the stored version; a
    /// version-ordered write reads the stored version and writes only while it is unchanged (compare-and-set).
    /// </summary>
    private async ValueTask<long?> WriteEntryWithoutScriptAsync(IDatabase database, RedisKey entryKey, ReadOnlyMemory<byte> value, EntryExpiration expiration, DateTimeOffset now, TimeSpan? ttl, WriteCondition condition)
    {
        for (var attempt = 1; ; attempt++)
        {
            var entry = database.CreateTransaction();
            long? version;
            if (condition.IfAbsent)
            {
                entry.AddCondition(Condition.KeyNotExists(entryKey));
                version = 1;
            }
            else if (condition.IfValue is { } expected)
            {
                entry.AddCondition(Condition.HashEqual(entryKey, RedisEntry.DataField, expected));
                version = null;
            }
            else if (condition.IfOlderThan is { } newer)
            {
                var stored = await database.HashGetAsync(entryKey, RedisEntry.VersionField).ConfigureAwait(false);
                if (RedisEntry.ReadVersion(stored) >= newer)
                {
                    return null;
                }

                entry.AddCondition(stored.IsNull ? Condition.HashNotExists(entryKey, RedisEntry.VersionField) : Condition.HashEqual(entryKey, RedisEntry.VersionField, stored));
                version = newer;
            }
            else
            {
                version = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / (TimeSpan.TicksPerMillisecond / 1000);
            }

            _ = entry.HashSetAsync(entryKey, RedisEntry.Fields(value, RedisEntry.Absolute(expiration, now), expiration.Sliding, version));
            var kept = version is null ? entry.HashGetAsync(entryKey, RedisEntry.VersionField) : null;
            // A write that never expires replaces one that did: HSET keeps the key's old time to live.
            _ = ttl is { } entryTtl ? entry.KeyExpireAsync(entryKey, entryTtl) : entry.KeyPersistAsync(entryKey);

            // A transaction with a condition is sent by blocking the sending thread until the condition's answers come
            // (StackExchange.Redis waits up to its own timeout): on a hung server that was the caller's thread, before
            // the operation's deadline and token could count. Started on the thread pool, it is bounded by both.
            var executed = condition == WriteCondition.Always ? entry.ExecuteAsync() : Task.Run(() => entry.ExecuteAsync());
            if (await executed.ConfigureAwait(false))
            {
                return version ?? RedisEntry.ReadVersion(await kept!.ConfigureAwait(false));
            }

            // Only a compare-and-set is worth another try: the other conditions failed for good.
            if (condition.IfOlderThan is null || attempt == MaximumVersionAttempts)
            {
                return null;
            }
        }
    }

    private ValueTask<bool> RemoveCoreAsync(string key, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        return BoundedAsync("remove", t => DeleteAsync(key, t), token);
    }

    private async ValueTask<bool> DeleteAsync(string key, CancellationToken token)
    {
        var database = await ConnectAsync(token).ConfigureAwait(false);
        _recentReads.Forget(key);
        try
        {
            return await RetryWhileClusterChangesAsync("remove", () => new ValueTask<bool>(database.KeyDeleteAsync(_prefix.Append(key))), token).ConfigureAwait(false);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure("remove", e);
        }
    }

    private async ValueTask<IDatabase> ConnectAsync(CancellationToken token)
    {
        if (_database is { } database)
        {
            return database;
        }

        await _connectLock.WaitAsync(token).ConfigureAwait(false);

        try
        {
            if (_database is null)
            {
                IConnectionMultiplexer connection;
                if (_options.ConnectionMultiplexerFactory is { } factory)
                {
                    connection = await factory().ConfigureAwait(false);
                }
                else
                {
                    connection = _ownedConnection = await ConnectionMultiplexer.ConnectAsync(_configuration!).ConfigureAwait(false);
                }

                _endpoints = EndpointNames.Describe(connection.GetEndPoints());
                _database = connection.GetDatabase();
            }

            return _database;
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            throw Failure("connect", e);
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>Retries, within <see cref="SessionCacheProviderOptions.OperationTimeout"/>, what a changing cluster refused without running (see <see cref="ClusterChangeRetry"/>).</summary>
    private ValueTask<T> RetryWhileClusterChangesAsync<T>(string operation, Func<ValueTask<T>> run, CancellationToken token) =>
        ClusterChangeRetry.RunAsync(run, _options.OperationTimeout, (e, attempt) => LogRetriedWhileClusterChanges(operation, attempt, e.Message), token);

    /// <summary>The user a value belongs to, as a write records it in the user's index.</summary>
    private string? UserIdOf(ReadOnlySpan<byte> value) => SessionPayload.FindUserId(value, _userIdKey);

    private RedisKey UserIndexKey(string userId) => RedisUserIndex.Key(_prefix, userId);

    /// <summary>A timeout names the store, operation and bound; any other failure to reach the server names the endpoints.</summary>
    private Exception Failure(string operation, Exception e)
    {
        if (e is RedisConnectionException)
        {
            RefreshTopologySoon();
        }

        return e is RedisTimeoutException
            ? new SessionStoreTimeoutException(StoreName, operation, _options.OperationTimeout, _endpoints, e)
            : new RedisSessionCacheException($"Redis {operation} failed on {_endpoints}: {e.Message}", e);
    }

    /// <summary>
    /// Asks the multiplexer to read the topology again, at most once a second, after a node could not be reached. When a
    /// cluster master dies, commands for its slots fail at once without reaching any server, so no MOVED ever tells
    /// StackExchange.Redis that its replica took over; without this, requests could keep failing after the failover
    /// until the client's own periodic check (a minute by default).
    /// </summary>
    private void RefreshTopologySoon()
    {
        if (_database is not { } database)
        {
            return;
        }

        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastTopologyRefresh);
        if (now - last < 1000 || Interlocked.CompareExchange(ref _lastTopologyRefresh, now, last) != last)
        {
            return;
        }

        _ = database.Multiplexer.ConfigureAsync().ContinueWith(
            static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // Every failure the client reports: the server not reached or not answering in time, and a command it refused
    // (out of memory under noeviction, a wrong type), which otherwise surfaced named by neither store nor operation.
    private static bool IsRedisFailure(Exception e) => e is RedisConnectionException or RedisTimeoutException or RedisServerException or RedisCommandException;

    /// <summary>
    /// The server refused a script: with <see cref="RedisSessionCacheOptions.UseScripts"/> unset, switch to plain
    /// commands for the life of the cache and say so once; set to true, fail the call instead.
    /// </summary>
    private void StopUsingScripts(Exception e)
    {
        if (_options.UseScripts == true)
        {
            throw new RedisSessionCacheException(
                $"The Redis server at {_endpoints} refuses scripts ({e.Message}) and {nameof(RedisSessionCacheOptions.UseScripts)} is true; enable scripting on the server (Garnet: --lua) or leave {nameof(RedisSessionCacheOptions.UseScripts)} unset.", e);
        }

        if (_scriptingAvailable)
        {
            _scriptingAvailable = false;
            LogScriptingUnavailable(_endpoints, e.Message);
        }
    }

    /// <summary>
    /// Servers that forbid scripting answer EVAL/EVALSHA as unknown or not permitted, Garnet without <c>--lua</c>
    /// as disabled; a command map may refuse them client-side.
    /// </summary>
    private static bool IsScriptingRefused(Exception e) =>
        e is RedisCommandException
        || (e is RedisServerException server && (server.Message.StartsWith("ERR unknown command", StringComparison.Ordinal)
            || server.Message.StartsWith("NOPERM", StringComparison.Ordinal)
            || server.Message.Contains("scripting support disabled", StringComparison.OrdinalIgnoreCase)));

    private static ReadOnlyMemory<byte> Linearize(ReadOnlySequence<byte> value) => value.IsSingleSegment ? value.First : value.ToArray();
}
