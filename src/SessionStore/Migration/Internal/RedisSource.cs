using System.Text;
using SessionStore.Internal;
using SessionStore.Redis;
using SessionStore.Redis.Internal;
using StackExchange.Redis;

namespace SessionStore.Migration.Internal;

/// <summary>
/// Side-effect-free access to the entries under one <c>InstanceName</c>, for the migration tools: SCAN pages
/// that skip the per-user index keys, and pipelined reads that, unlike a cache read, never extend an expiry.
/// </summary>
internal sealed class RedisSource : IAsyncDisposable
{
    private readonly IConnectionMultiplexer _connection;
    private readonly bool _ownsConnection;
    private readonly IDatabase _database;
    private readonly byte[] _prefix;
    private readonly byte[] _userIndexPrefix;
    private readonly string _pattern;

    private RedisSource(IConnectionMultiplexer connection, bool ownsConnection, string? instanceName)
    {
        _connection = connection;
        _ownsConnection = ownsConnection;
        _database = connection.GetDatabase();
        _prefix = Encoding.UTF8.GetBytes(instanceName ?? "");
        _userIndexPrefix = Encoding.UTF8.GetBytes((instanceName ?? "") + RedisUserIndex.Infix);
        _pattern = EscapeGlob(instanceName ?? "") + "*";
    }

    /// <summary>Names the source in messages and checkpoints: endpoints, database and prefix (never a key).</summary>
    public string Description => $"{EndpointNames.Describe(_connection.GetEndPoints())}/{_database.Database} prefix '{Encoding.UTF8.GetString(_prefix)}'";

    /// <summary>The primaries to scan: one on a standalone server, each primary on a cluster.</summary>
    public IReadOnlyList<IServer> Primaries => _connection.GetServers().Where(s => !s.IsReplica && s.IsConnected).ToArray();

    public static async Task<RedisSource> ConnectAsync(RedisSessionCacheOptions options, CancellationToken cancellationToken)
    {
        options.ThrowIfInvalid();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (options.ConnectionMultiplexerFactory is { } factory)
            {
                return new RedisSource(await factory().ConfigureAwait(false), ownsConnection: false, options.InstanceName);
            }

            var configuration = options.ConfigurationOptions?.Clone() ?? ConfigurationOptions.Parse(options.Configuration!);
            var connection = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
            return new RedisSource(connection, ownsConnection: true, options.InstanceName);
        }
        catch (RedisConnectionException e)
        {
            throw new RedisSessionCacheException($"Redis could not be reached: {e.Message}", e);
        }
    }

    /// <summary>The number of keys in the database on every primary: an upper bound on the entries, for an estimate.</summary>
    public async Task<long> DatabaseSizeAsync()
    {
        long total = 0;
        foreach (var server in Primaries)
        {
            total += await server.DatabaseSizeAsync(_database.Database).ConfigureAwait(false);
        }

        return total;
    }

    /// <summary>One SCAN step on <paramref name="server"/>: the next cursor (0 when done) and the cache keys found, without the prefix.</summary>
    public async Task<(long Cursor, List<string> Keys)> ScanAsync(IServer server, long cursor, int count)
    {
        var result = await server.ExecuteAsync(_database.Database, "SCAN", [cursor, "MATCH", _pattern, "COUNT", count]).ConfigureAwait(false);
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

    /// <summary>Counts the live cache entries with a full SCAN; calls <paramref name="onKey"/> for each one.</summary>
    public async Task<long> CountAsync(Action<string>? onKey, CancellationToken cancellationToken)
    {
        long count = 0;
        foreach (var server in Primaries)
        {
            long cursor = 0;
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                (cursor, var keys) = await ScanAsync(server, cursor, 1000).ConfigureAwait(false);
                count += keys.Count;
                keys.ForEach(key => onKey?.Invoke(key));
            }
            while (cursor != 0);
        }

        return count;
    }

    /// <summary>
    /// Reads the entries pipelined, each with its remaining TTL. Null where the key is gone, expired or is not a
    /// <c>RedisCache</c> entry.
    /// </summary>
    public async Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys)
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

    /// <summary>Which of the keys exist now, pipelined.</summary>
    public async Task<bool[]> ExistAsync(IReadOnlyList<string> keys)
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
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private RedisKey Key(string key) => ((RedisKey)_prefix).Append(key);

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
