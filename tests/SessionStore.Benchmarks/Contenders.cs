using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Redis;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Benchmarks;

/// <summary>
/// Every cache of the side-by-side run for one workload and payload size. Each has a table and a key prefix of
/// its own (named by <paramref name="tag"/>), so that what one run writes never changes the state another reads.
/// </summary>
internal sealed class Contenders : IDisposable
{
    public const string RedisCacheName = "Microsoft RedisCache";
    public const string PostgresName = "SessionStore PostgreSQL";
    public const string PostgresAsyncName = "SessionStore PostgreSQL, SynchronousCommit Off";
    public const string PostgresByteaName = "SessionStore PostgreSQL, bytea";
    public const string RedisEverySecondName = "SessionStore Redis, AOF everysec";
    public const string RedisAlwaysName = "SessionStore Redis, AOF always";
    public const string RedisCacheAlwaysName = "Microsoft RedisCache, AOF always";

    private const string Synchronous = "WAL, synchronous commit";
    private const string Asynchronous = "WAL, session writes with asynchronous commit (a server crash loses ≤ 3 × wal_writer_delay, ~600 ms)";
    private const string NoPersistence = "none (memory only)";

    private readonly List<IDisposable> _owned = [];

    public Contenders(BenchmarkServers servers, string tag, Func<ProfilingSession?>? profiler = null, Func<string, bool>? include = null)
    {
        var postgres = servers.Postgres.ConnectionString;
        var plain = servers.Redis[RedisPersistence.None].Connection;
        RedisKeys Keys(RedisPersistence persistence) => new(servers.Redis[persistence].Connection, $"{All.Count:D2}:{tag}:");
        string Table() => $"c{All.Count:D2}_{tag}";

        AddRedisCache(RedisCacheName, NoPersistence, servers.Redis[RedisPersistence.None].Server.Configuration, Keys(RedisPersistence.None), profiler);
        AddRedis("SessionStore Redis", NoPersistence, Keys(RedisPersistence.None));
        AddRedis(RedisEverySecondName, "AOF, fsync each second (≤ 1 s lost)", Keys(RedisPersistence.EverySecond));
        AddRedis(RedisAlwaysName, "AOF, fsync before each reply", Keys(RedisPersistence.Always));
        AddRedisCache(RedisCacheAlwaysName, "AOF, fsync before each reply", servers.Redis[RedisPersistence.Always].Server.Configuration, Keys(RedisPersistence.Always), profiler);
        AddPostgres(PostgresName, Synchronous, Postgres(postgres, Table(), SessionCacheProviderOptions.DefaultTouchThreshold));
        var asynchronous = Postgres(postgres, Table(), SessionCacheProviderOptions.DefaultTouchThreshold);
        asynchronous.SynchronousCommit = PostgresSynchronousCommit.Off;
        AddPostgres(PostgresAsyncName, Asynchronous, asynchronous);
        AddPostgres("SessionStore PostgreSQL, threshold 0", Synchronous, Postgres(postgres, Table(), 0));
        var bytea = Postgres(postgres, Table(), SessionCacheProviderOptions.DefaultTouchThreshold);
        bytea.PayloadFormat = PostgresPayloadFormat.Bytea;
        AddPostgres(PostgresByteaName, Synchronous, bytea);
        foreach (var phase in new[] { SessionStorePhase.RedisOnly, SessionStorePhase.DualWriteRedisPrimary, SessionStorePhase.DualWritePostgresPrimary, SessionStorePhase.PostgresOnly })
        {
            var table = Table();
            var keys = Keys(RedisPersistence.None);
            var services = new ServiceCollection()
                .AddLogging()
                .AddDualWriteSessionStore(o =>
                {
                    o.Phase = phase;
                    o.Postgres.ConnectionString = postgres;
                    o.Postgres.TableName = table;
                    o.Postgres.CreateTableIfMissing = true;
                    o.Redis.ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(plain);
                    o.Redis.InstanceName = keys.Prefix;
                })
                .BuildServiceProvider();
            _owned.Add(services);
            All.Add(new Contender($"Dual-write {phase}", phase switch
            {
                SessionStorePhase.RedisOnly => NoPersistence,
                SessionStorePhase.PostgresOnly => Synchronous,
                _ => "Redis none + " + Synchronous,
            }, services.GetRequiredService<DualWriteCache>(), phase == SessionStorePhase.RedisOnly ? null : table, phase == SessionStorePhase.PostgresOnly ? null : keys));
        }

        // Names (and so tables and key prefixes) are given before filtering, so a focused run uses the same ones.
        foreach (var excluded in All.Where(c => include is not null && !include(c.Name)).ToList())
        {
            excluded.Dispose();
            All.Remove(excluded);
        }
    }

    public List<Contender> All { get; } = [];

    public void Dispose()
    {
        foreach (var contender in All)
        {
            contender.Dispose();
        }

        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    // RedisCache disposes any connection it is given, so it gets its own; the profiler follows it there.
    private void AddRedisCache(string name, string durability, string configuration, RedisKeys keys, Func<ProfilingSession?>? profiler) =>
        All.Add(new Contender(name, durability, new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions
        {
            Configuration = configuration,
            InstanceName = keys.Prefix,
            ProfilingSession = profiler is null ? null : () => profiler()!,
        })), null, keys));

    private void AddRedis(string name, string durability, RedisKeys keys) =>
        All.Add(new Contender(name, durability, new RedisSessionCache(new RedisSessionCacheOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult(keys.Connection),
            InstanceName = keys.Prefix,
        }), null, keys));

    private void AddPostgres(string name, string durability, PostgresSessionCacheOptions options) =>
        All.Add(new Contender(name, durability, new PostgresSessionCache(options), options.TableName, null, options.PayloadFormat));

    private static PostgresSessionCacheOptions Postgres(string connectionString, string table, double threshold) => new()
    {
        ConnectionString = connectionString,
        TableName = table,
        TouchThreshold = threshold,
        CreateTableIfMissing = true,
    };
}
