using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Redis;
using SessionStore.Tests.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Limits;

/// <summary>A PostgreSQL table and a Redis key prefix of a test's own, with one cache on each and the same clock.</summary>
internal sealed class StorePair : IDisposable
{
    public StorePair(PostgresServer postgres, RedisServer redis, TimeProvider? time = null, ILogger<PostgresSessionCache>? postgresLogger = null)
    {
        Table = new PostgresTestTable(postgres, logger: postgresLogger, time: time);
        Prefix = $"limits-{Guid.NewGuid():N}:";
        Redis = new RedisSessionCache(
            new RedisSessionCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult(redis.Connection), InstanceName = Prefix },
            NullLogger<RedisSessionCache>.Instance,
            time ?? TimeProvider.System);
    }

    public PostgresTestTable Table { get; }

    public PostgresSessionCache Postgres => Table.Cache;

    public RedisSessionCache Redis { get; }

    public string Prefix { get; }

    public ISessionCacheProvider Store(string name) => name switch
    {
        "postgresql" => Postgres,
        "redis" => Redis,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "postgresql or redis"),
    };

    public IEnumerable<ISessionCacheProvider> Both => [Postgres, Redis];

    public void Dispose()
    {
        Table.Dispose();
        Redis.Dispose();
    }
}
