using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Npgsql;
using SessionStore.Postgres;
using SessionStore.Tests.Internal;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Tests.Migration;

/// <summary>
/// A migration in miniature: sessions written to Redis by Microsoft's <c>RedisCache</c> under a prefix of their
/// own, a session table of its own, and the <c>SessionStore</c> settings that name both.
/// </summary>
public sealed class MigrationScenario : IDisposable
{
    private readonly PostgresServer _postgres;
    private readonly IRedisTestServer _redis;
    private readonly MicrosoftRedisCache _theirs;

    public MigrationScenario(PostgresServer postgres, IRedisTestServer redis, PostgresPayloadFormat payloadFormat = PostgresPayloadFormat.Jsonb, PostgresPartitioningOptions? partitioning = null)
    {
        PayloadFormat = payloadFormat;
        Partitioning = partitioning;
        _postgres = postgres;
        _redis = redis;
        Table = PostgresServer.UniqueTableName("mig");
        Prefix = $"mig-{Guid.NewGuid():N}:";
        _theirs = new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions
        {
            Configuration = redis.Configuration,
            InstanceName = Prefix,
        }));
        Postgres = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = Table, UserIdSessionKey = "UserId", PayloadFormat = payloadFormat, Partitioning = partitioning });
    }

    public string Table { get; }

    public PostgresPayloadFormat PayloadFormat { get; }

    /// <summary>The partitioned layout of the table, or null for a plain one.</summary>
    public PostgresPartitioningOptions? Partitioning { get; }

    public string Prefix { get; }

    /// <summary>A cache on the scenario's table, for writes an application would make.</summary>
    public PostgresSessionCache Postgres { get; }

    public IDatabase Redis => _redis.Connection.GetDatabase();

    /// <summary>Microsoft's <c>RedisCache</c> on the scenario's prefix: the cache the application used before the migration.</summary>
    public IDistributedCache RedisCache => _theirs;

    /// <summary>The settings as an appsettings section would give them.</summary>
    public Dictionary<string, string?> Settings(string phase = "DualWriteRedisPrimary") => new()
    {
        ["SessionStore:Phase"] = phase,
        ["SessionStore:Postgres:ConnectionString"] = _postgres.ConnectionString,
        ["SessionStore:Postgres:TableName"] = Table,
        ["SessionStore:Redis:Configuration"] = _redis.Configuration,
        ["SessionStore:Redis:InstanceName"] = Prefix,
        ["SessionStore:UserIdSessionKey"] = "UserId",
        ["SessionStore:Postgres:PayloadFormat"] = PayloadFormat.ToString(),
    };

    public SessionStoreOptions Options(string phase = "DualWriteRedisPrimary")
    {
        var options = new SessionStoreOptions { Phase = Enum.Parse<SessionStorePhase>(phase), UserIdSessionKey = "UserId" };
        options.Postgres.ConnectionString = _postgres.ConnectionString;
        options.Postgres.TableName = Table;
        options.Postgres.PayloadFormat = PayloadFormat;
        options.Postgres.Partitioning = Partitioning;
        options.Redis.Configuration = _redis.Configuration;
        options.Redis.InstanceName = Prefix;
        return options;
    }

    public Task CreateTableAsync() =>
        new PostgresSchemaMigrator(_postgres.DataSource, new PostgresSessionCacheOptions { TableName = Table, PayloadFormat = PayloadFormat, Partitioning = Partitioning }).MigrateAsync(TestContext.Current.CancellationToken);

    public static byte[] Session(int n, string? userId = null)
    {
        var entries = new List<KeyValuePair<string, byte[]>> { new("n", System.Text.Encoding.UTF8.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture))) };
        if (userId is not null)
        {
            entries.Add(new("UserId", System.Text.Encoding.UTF8.GetBytes(userId)));
        }

        var id = new byte[16];
        BitConverter.TryWriteBytes(id, n);
        return new TestSessionPayload(id, entries).ToBytes();
    }

    /// <summary>Writes <paramref name="count"/> sessions through Microsoft's RedisCache, many at a time; returns their keys.</summary>
    public async Task<string[]> WriteRedisSessionsAsync(int count, TimeSpan? idleTimeout = null, Func<int, string?>? userOf = null)
    {
        var keys = Enumerable.Range(0, count).Select(_ => Guid.NewGuid().ToString()).ToArray();
        var options = new DistributedCacheEntryOptions { SlidingExpiration = idleTimeout ?? TimeSpan.FromMinutes(20) };
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = TestContext.Current.CancellationToken },
            async (i, token) => await _theirs.SetAsync(keys[i], Session(i, userOf?.Invoke(i)), options, token));
        return keys;
    }

    /// <summary>The keys of the table's live rows.</summary>
    public async Task<HashSet<string>> PostgresKeysAsync()
    {
        await using var command = _postgres.DataSource.CreateCommand($"SELECT sid FROM \"public\".\"{Table}\" WHERE expire > now()");
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    /// <summary>The keys under the prefix in Redis, without it (the per-user index keys left out); on a cluster, of every primary.</summary>
    public async Task<HashSet<string>> RedisKeysAsync()
    {
        await _redis.Connection.ConfigureAsync(); // on a cluster, the primaries after any failover
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in _redis.Connection.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: Prefix + "*", pageSize: 1000))
            {
                var name = ((string)key!)[Prefix.Length..];
                if (!name.StartsWith("sessionstore:user:", StringComparison.Ordinal))
                {
                    keys.Add(name);
                }
            }
        }

        return keys;
    }

    /// <summary>Runs SQL in which <c>{table}</c> stands for the scenario's table.</summary>
    public async Task<object?> ScalarAsync(string sql, params object[] parameters)
    {
        await using var command = _postgres.DataSource.CreateCommand(sql.Replace("{table}", $"\"public\".\"{Table}\"", StringComparison.Ordinal));
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
    }

    public void Dispose()
    {
        _theirs.Dispose();
        Postgres.Dispose();
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread, so a test can act at an exact point.</summary>
public sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
