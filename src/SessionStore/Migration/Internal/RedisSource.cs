using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using SessionStore.Internal;
using SessionStore.Redis;
using SessionStore.Redis.Internal;
using StackExchange.Redis;

namespace SessionStore.Migration.Internal;

/// <summary>
/// Side-effect-free access to the entries under one <c>InstanceName</c>, for the migration tools: SCAN pages
/// that skip the per-user index keys, and pipelined reads that, unlike a cache read, never extend an expiry.
/// </summary>
internal sealed class RedisSource : ICopySource, IAsyncDisposable
{
    private readonly IConnectionMultiplexer _connection;
    private readonly bool _ownsConnection;
    private readonly IDatabase _database;
    private readonly byte[] _prefix;
    private readonly byte[] _userIndexPrefix;
    private readonly string _pattern;
    private readonly byte[] _userIdKey;
    private readonly TimeSpan _operationTimeout;
    private readonly string _target;

    private RedisSource(IConnectionMultiplexer connection, bool ownsConnection, string? instanceName, byte[] userIdKey, TimeSpan operationTimeout)
    {
        _userIdKey = userIdKey;
        _operationTimeout = operationTimeout;
        _connection = connection;
        _ownsConnection = ownsConnection;
        _database = connection.GetDatabase();
        _prefix = Encoding.UTF8.GetBytes(instanceName ?? "");
        _userIndexPrefix = Encoding.UTF8.GetBytes((instanceName ?? "") + RedisUserIndex.Infix);
        _pattern = EscapeGlob(instanceName ?? "") + "*";
        _target = Description;
    }

    /// <summary>
    /// Names the source in messages and checkpoints: the configured endpoints, sorted, the database and the prefix
    /// (never a key). Not the nodes discovered, whose order varies from one connection to the next on a cluster and
    /// whose roles change with a failover: a checkpoint must be recognised by the next run.
    /// </summary>
    public string Description => Describe(_connection.GetEndPoints(configuredOnly: true));

    public async Task<SourceTopology> TopologyAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return (await ReadTopologyAsync().ConfigureAwait(false)).Topology;
    }

    private string Describe(IEnumerable<System.Net.EndPoint> endpoints)
    {
        var names = EndpointNames.Describe(endpoints).Split(", ").Order(StringComparer.Ordinal).Distinct();
        return $"{string.Join(", ", names)}/{_database.Database} prefix '{Encoding.UTF8.GetString(_prefix)}'";
    }

    /// <summary>The topology now, and the primaries to scan: one on a standalone server, each primary on a cluster.</summary>
    private Task<(SourceTopology Topology, IReadOnlyList<IServer> Primaries)> ReadTopologyAsync() => ClusterTopology.ReadAsync(_connection);

    private async Task<IReadOnlyList<IServer>> PrimariesAsync() => (await ReadTopologyAsync().ConfigureAwait(false)).Primaries;

    public static async Task<RedisSource> ConnectAsync(RedisSessionCacheOptions options, CancellationToken cancellationToken)
    {
        options.ThrowIfInvalid();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (options.ConnectionMultiplexerFactory is { } factory)
            {
                return new RedisSource(await factory().ConfigureAwait(false), ownsConnection: false, options.InstanceName, options.UserIdSessionKeyUtf8, options.OperationTimeout);
            }

            // Bounded by the operation timeout, where StackExchange.Redis's defaults gave a hung server three 5 s
            // connect attempts; and never abortConnect=false, common in an application's cloud connection string.
            var configuration = RedisConnectionSettings.ForTool(options.ConfigurationOptions ?? ConfigurationOptions.Parse(options.Configuration!), options.OperationTimeout);
            // The connect takes no token: an interrupt stops the wait (up to OperationTimeout against a hung server),
            // and a connection made after it is closed.
            var connecting = ConnectionMultiplexer.ConnectAsync(configuration);
            try
            {
                var connection = await connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
                return new RedisSource(connection, ownsConnection: true, options.InstanceName, options.UserIdSessionKeyUtf8, options.OperationTimeout);
            }
            catch (OperationCanceledException)
            {
                _ = connecting.ContinueWith(t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
                throw;
            }
        }
        catch (RedisConnectionException e)
        {
            // The driver's message ends with advice to set abortConnect=false, which a tool must not follow: it would
            // take a server that does not answer for one that holds nothing. Its own bound is named instead.
            var reason = e.Message.Split(" To allow this multiplexer", 2)[0].TrimEnd();
            throw new RedisSessionCacheException(
                $"Redis could not be reached (each connect attempt waits at most SessionStore:Redis:OperationTimeout, {options.OperationTimeout.TotalMilliseconds:0} ms; a tool's --timeout sets it): {reason}", e);
        }
    }

    /// <summary>The number of keys in the database on every primary: an upper bound on the entries, for an estimate.</summary>
    public async Task<long> DatabaseSizeAsync()
    {
        long total = 0;
        foreach (var server in await PrimariesAsync().ConfigureAwait(false))
        {
            total += await server.DatabaseSizeAsync(_database.Database).ConfigureAwait(false);
        }

        return total;
    }

    /// <summary>One SCAN step on <paramref name="server"/>: the next cursor (0 when done) and the cache keys (hashes) found, without the prefix.</summary>
    public Task<(long Cursor, List<string> Keys)> ScanAsync(IServer server, long cursor, int count) =>
        BoundedAsync("scan", () => ScanCoreAsync(server, cursor, count));

    private async Task<(long Cursor, List<string> Keys)> ScanCoreAsync(IServer server, long cursor, int count)
    {
        // TYPE hash (Redis 6+, Garnet): a RedisCache entry is always a hash, and under an empty InstanceName every
        // other key of the database (the application's own strings, lists, sets) was counted as a session.
        var result = await server.ExecuteAsync(_database.Database, "SCAN", [cursor, "MATCH", _pattern, "COUNT", count, "TYPE", "hash"]).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var keys = new List<string>();
        foreach (var key in (byte[][])parts[1]!)
        {
            if (!key.AsSpan().StartsWith(_userIndexPrefix))
            {
                keys.Add(Encoding.UTF8.GetString(key.AsSpan(_prefix.Length)));
            }
        }

        return (long.Parse((string)parts[0]!, System.Globalization.CultureInfo.InvariantCulture), keys);
    }

    /// <summary>Counts the live cache entries with a full SCAN; awaits <paramref name="onKeys"/> with each page of their keys before the next.</summary>
    public async Task<long> CountAsync(Func<List<string>, Task>? onKeys, CancellationToken cancellationToken)
    {
        long count = 0;
        foreach (var server in await PrimariesAsync().ConfigureAwait(false))
        {
            long cursor = 0;
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                (cursor, var keys) = await ScanAsync(server, cursor, 1000).ConfigureAwait(false);
                count += keys.Count;
                if (onKeys is not null)
                {
                    await onKeys(keys).ConfigureAwait(false);
                }
            }
            while (cursor != 0);
        }

        return count;
    }

    /// <summary>
    /// Reads the entries pipelined, each with its remaining TTL. Null where the key is gone, expired or is not a
    /// <c>RedisCache</c> entry.
    /// </summary>
    public Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys) => BoundedAsync("copy read", () => ReadCoreAsync(keys));

    private async Task<StoredEntry?[]> ReadCoreAsync(IReadOnlyList<string> keys)
    {
        var batch = _database.CreateBatch();
        var reads = keys.Select(key =>
        {
            var redisKey = Key(key);
            return (Fields: batch.HashGetAsync(redisKey, RedisEntry.AllFields), Ttl: batch.ExecuteAsync("PTTL", [redisKey]));
        }).ToArray();
        batch.Execute();
        var nowTicks = DateTimeOffset.UtcNow.UtcTicks;

        var entries = new StoredEntry?[keys.Count];
        for (var i = 0; i < reads.Length; i++)
        {
            RedisValue[] fields;
            long ttl;
            try
            {
                fields = await reads[i].Fields.ConfigureAwait(false);
                ttl = (long)await reads[i].Ttl.ConfigureAwait(false);
            }
            catch (RedisServerException e) when (e.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
            {
                continue;
            }

            // PTTL: -2 gone, -1 no expiry, else milliseconds left.
            if (fields[2].IsNull || ttl == -2 || ttl == 0)
            {
                continue;
            }

            entries[i] = new StoredEntry(
                (byte[])fields[2]!,
                RedisEntry.Expiry(RedisEntry.ReadTicks(fields[0]), RedisEntry.ReadTicks(fields[1]), ttl, nowTicks));
        }

        return entries;
    }

    public Task<long> EstimateAsync(CancellationToken cancellationToken) => DatabaseSizeAsync();

    /// <summary>A position this source wrote: its primaries done (a list, never null) and a cursor that is not negative.</summary>
    public bool CanResumeFrom(string position)
    {
        try
        {
            return JsonSerializer.Deserialize<ScanPosition>(position) is { Finished: not null, Cursor: >= 0 } state && !state.Finished.Contains(null!);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>SCAN pages of every primary in turn; the position names the primaries done, the one in progress and its cursor.</summary>
    public async IAsyncEnumerable<KeyPage> PagesAsync(string? position, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var state = position is null ? new ScanPosition() : JsonSerializer.Deserialize<ScanPosition>(position)!;
        foreach (var server in await PrimariesAsync().ConfigureAwait(false))
        {
            var name = server.EndPoint.ToString()!;
            if (state.Finished.Contains(name))
            {
                continue;
            }

            var cursor = state.Server == name ? state.Cursor : 0;
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                (cursor, var keys) = await ScanAsync(server, cursor, pageSize).ConfigureAwait(false);
                state = cursor == 0
                    ? new ScanPosition { Finished = [.. state.Finished, name] }
                    : new ScanPosition { Finished = state.Finished, Server = name, Cursor = cursor };
                yield return new KeyPage(keys, JsonSerializer.Serialize(state));
            }
            while (cursor != 0);
        }
    }

    public Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => ReadAsync(keys);

    public Task<bool[]> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => ExistAsync(keys);

    /// <summary>
    /// Adds each entry naming a user to that user's index, as <c>RedisSessionCache</c> does on a write: entries that
    /// Microsoft's <c>RedisCache</c> wrote have none, and "log out everywhere" would not find them.
    /// </summary>
    public async Task<int> IndexUsersAsync(IReadOnlyList<string> keys, StoredEntry?[] entries)
    {
        if (_userIdKey.Length == 0)
        {
            return 0;
        }

        var writes = new List<Task<bool>>();
        for (var i = 0; i < keys.Count; i++)
        {
            if (entries[i] is { } entry && SessionPayload.FindUserId(entry.Value, _userIdKey) is { } userId)
            {
                // One transaction per index key, as the cache writes it, so it works unchanged on a cluster.
                var transaction = _database.CreateTransaction();
                RedisUserIndex.QueueAdd(transaction, RedisUserIndex.Key(_prefix, userId), keys[i], entry.Expiry.Remaining);
                writes.Add(transaction.ExecuteAsync());
            }
        }

        await Task.WhenAll(writes).ConfigureAwait(false);
        return 0; // an index add says nothing of whether the session was missing from it
    }

    /// <summary>Deletes each entry that still holds the value given; a rewritten entry is kept.</summary>
    public Task DeleteIfUnchangedAsync(IReadOnlyList<(string Key, byte[] Value)> entries) =>
        BoundedAsync("copy take back", () => WhileUnchangedAsync(entries.Select(e => (e.Key, e.Value, TimeSpan.Zero)).ToList(), (transaction, key, _) => transaction.KeyDeleteAsync(key)));

    /// <summary>Sets each entry's time to live to the time given, while it still holds the value given; a rewritten entry keeps its own.</summary>
    public Task ExpireIfUnchangedAsync(IReadOnlyList<(string Key, byte[] Value, TimeSpan TimeLeft)> entries) =>
        BoundedAsync("copy time left", () => WhileUnchangedAsync(entries, (transaction, key, timeLeft) => transaction.KeyExpireAsync(key, timeLeft)));

    /// <summary>Runs <paramref name="change"/> on each entry in a transaction of its own, on the condition that it still holds the value given.</summary>
    private async Task<bool[]> WhileUnchangedAsync(IReadOnlyList<(string Key, byte[] Value, TimeSpan TimeLeft)> entries, Func<ITransaction, RedisKey, TimeSpan, Task> change)
    {
        var changes = entries.Select(entry =>
        {
            var transaction = _database.CreateTransaction();
            var key = Key(entry.Key);
            transaction.AddCondition(Condition.HashEqual(key, RedisEntry.DataField, entry.Value));
            _ = change(transaction, key, entry.TimeLeft);
            return transaction.ExecuteAsync();
        }).ToArray();
        return await Task.WhenAll(changes).ConfigureAwait(false);
    }

    /// <summary>Which of the keys exist now, pipelined.</summary>
    public Task<bool[]> ExistAsync(IReadOnlyList<string> keys) => BoundedAsync("copy check", () => ExistCoreAsync(keys));

    private async Task<bool[]> ExistCoreAsync(IReadOnlyList<string> keys)
    {
        var batch = _database.CreateBatch();
        var checks = keys.Select(key => batch.KeyExistsAsync(Key(key))).ToArray();
        batch.Execute();
        return await Task.WhenAll(checks).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsConnection)
        {
            // Every command of a tool has ended (or failed) by now: closing without waiting for commands to complete
            // skips the QUIT a hung server would hold for a whole timeout after the command that found it hung.
            await _connection.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private RedisKey Key(string key) => ((RedisKey)_prefix).Append(key);

    /// <summary>
    /// Waits for a page's call at most the operation timeout (<see cref="StoreDeadline"/>): StackExchange.Redis notices
    /// its own timeout only at its next heartbeat, up to a second later, when a server hung in the middle of a run.
    /// </summary>
    // Started on the thread pool: StackExchange.Redis sends a conditional transaction by blocking the sending thread
    // until the condition's answers come, up to its own timeout per transaction, before the deadline's clock started.
    private Task<T> BoundedAsync<T>(string operation, Func<Task<T>> call) =>
        StoreDeadline.RunAsync("redis", operation, _target, _operationTimeout, _ => new ValueTask<T>(Task.Run(call)), CancellationToken.None).AsTask();

    private sealed class ScanPosition
    {
        public List<string> Finished { get; set; } = [];

        public string? Server { get; set; }

        public long Cursor { get; set; }
    }

    /// <summary>A literal prefix in a SCAN MATCH pattern: glob characters escaped.</summary>
    private static string EscapeGlob(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
