using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Redis;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Benchmarks;

/// <summary>Every cache of the side-by-side run, all on the same keys of the same two servers.</summary>
internal sealed class Contenders : IDisposable
{
    public const string RedisCacheName = "Microsoft RedisCache";

    private readonly List<IDisposable> _owned = [];

    public Contenders(string postgresConnectionString, string table, IConnectionMultiplexer redis, string redisConfiguration, string prefix, Func<ProfilingSession?>? profiler = null)
    {
        // RedisCache disposes any connection it is given, so it gets its own; the profiler follows it there.
        Add(new Contender(RedisCacheName, new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions
        {
            Configuration = redisConfiguration,
            InstanceName = prefix,
            ProfilingSession = profiler is null ? null : () => profiler()!,
        })), UsesPostgres: false, UsesRedis: true));
        Add(new Contender("SessionStore Redis", new RedisSessionCache(new RedisSessionCacheOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult(redis),
            InstanceName = prefix,
        }), UsesPostgres: false, UsesRedis: true));
        Add(new Contender("SessionStore PostgreSQL", new PostgresCache(Postgres(postgresConnectionString, table, SessionCacheOptions.DefaultTouchThreshold)), UsesPostgres: true, UsesRedis: false));
        Add(new Contender("SessionStore PostgreSQL, threshold 0", new PostgresCache(Postgres(postgresConnectionString, table, 0)), UsesPostgres: true, UsesRedis: false));
        var bytea = Postgres(postgresConnectionString, table + "_bytea", SessionCacheOptions.DefaultTouchThreshold);
        bytea.PayloadFormat = PostgresPayloadFormat.Bytea;
        Add(new Contender("SessionStore PostgreSQL, bytea", new PostgresCache(bytea), UsesPostgres: true, UsesRedis: false));
        foreach (var phase in new[] { SessionStorePhase.RedisOnly, SessionStorePhase.DualWriteRedisPrimary, SessionStorePhase.DualWritePostgresPrimary, SessionStorePhase.PostgresOnly })
        {
            var services = new ServiceCollection()
                .AddLogging()
                .AddDualWriteSessionStore(o =>
                {
                    o.Phase = phase;
                    o.Postgres.ConnectionString = postgresConnectionString;
                    o.Postgres.TableName = table;
                    o.Redis.ConnectionMultiplexerFactory = () => Task.FromResult(redis);
                    o.Redis.InstanceName = prefix;
                })
                .BuildServiceProvider();
            _owned.Add(services);
            Add(new Contender($"Dual-write {phase}", services.GetRequiredService<DualWriteCache>(), UsesPostgres: phase != SessionStorePhase.RedisOnly, UsesRedis: phase != SessionStorePhase.PostgresOnly));
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

    private void Add(Contender contender) => All.Add(contender);

    private static PostgresCacheOptions Postgres(string connectionString, string table, double threshold) => new()
    {
        ConnectionString = connectionString,
        TableName = table,
        TouchThreshold = threshold,
        CreateTableIfMissing = true,
    };
}
