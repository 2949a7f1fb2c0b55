using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using StackExchange.Redis;

namespace SessionStore.Benchmarks;

/// <summary>
/// One cache under measurement, with the state it works on: its own PostgreSQL <see cref="Table"/> and/or its own
/// key prefix on a Redis server, so that no other contender's or workload's writes change what it reads.
/// </summary>
internal sealed record Contender(string Name, string Durability, IDistributedCache Cache, string? Table, RedisKeys? Redis, PostgresPayloadFormat Format = PostgresPayloadFormat.Jsonb) : IDisposable
{
    public bool UsesPostgres => Table is not null;

    public void Dispose() => (Cache as IDisposable)?.Dispose();
}

/// <summary>A contender's keys on one Redis server: everything it writes starts with <see cref="Prefix"/>.</summary>
internal sealed record RedisKeys(IConnectionMultiplexer Connection, string Prefix);
