using Npgsql;
using SessionStore.LocalServers;
using StackExchange.Redis;

using static SessionStore.Benchmarks.AdminCommands;

namespace SessionStore.Benchmarks;

/// <summary>How a Redis server keeps its data: what a contender on it may lose in a crash.</summary>
internal enum RedisPersistence
{
    /// <summary>Nothing is written to disk (the throw-away server's default, and a common cache setting).</summary>
    None,

    /// <summary><c>appendonly yes</c>, <c>appendfsync everysec</c>: up to about a second of writes lost, like PostgreSQL's asynchronous commit.</summary>
    EverySecond,

    /// <summary><c>appendonly yes</c>, <c>appendfsync always</c>: a write is on disk before it is acknowledged, like synchronous commit.</summary>
    Always,
}

/// <summary>
/// The servers of the side-by-side run: one durable PostgreSQL (fsync, full-page writes, synchronous commit on)
/// and one Redis per persistence setting, since persistence is a server-wide setting.
/// </summary>
internal sealed class BenchmarkServers : IAsyncDisposable
{
    private BenchmarkServers(LocalPostgres postgres, NpgsqlDataSource admin, Dictionary<RedisPersistence, (LocalRedis Server, ConnectionMultiplexer Connection)> redis)
    {
        Postgres = postgres;
        Admin = admin;
        Redis = redis;
    }

    public LocalPostgres Postgres { get; }

    /// <summary>Not pooled: the accounting waits until no other client is connected, and pooled idle connections never leave.</summary>
    public NpgsqlDataSource Admin { get; }

    public Dictionary<RedisPersistence, (LocalRedis Server, ConnectionMultiplexer Connection)> Redis { get; }

    public static async Task<BenchmarkServers> StartAsync()
    {
        var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries() ?? throw new InvalidOperationException("PostgreSQL is not installed: run scripts/install-servers.sh."), durable: true);
        var admin = NpgsqlDataSource.Create(postgres.ConnectionString + ";Pooling=false");
        await ExecuteAsync(admin, "CREATE EXTENSION IF NOT EXISTS pgstattuple");
        var redis = new Dictionary<RedisPersistence, (LocalRedis, ConnectionMultiplexer)>();
        foreach (var persistence in Enum.GetValues<RedisPersistence>())
        {
            var server = await LocalRedis.StartAsync(LocalRedis.FindBinary() ?? throw new InvalidOperationException("Redis is not installed: run scripts/install-servers.sh."));
            redis[persistence] = (server, await ConnectionMultiplexer.ConnectAsync(server.Configuration + ",allowAdmin=true"));
        }

        return new BenchmarkServers(postgres, admin, redis);
    }

    /// <summary>
    /// Turns the append-only file on where the persistence setting asks for it. Called after seeding, so that
    /// loading the sessions does not wait on fsync; waits for the first rewrite of the file to finish.
    /// </summary>
    public async Task EnablePersistenceAsync()
    {
        foreach (var (persistence, (_, connection)) in Redis)
        {
            if (persistence == RedisPersistence.None)
            {
                continue;
            }

            var server = connection.GetServer(connection.GetEndPoints()[0]);
            await server.ConfigSetAsync("appendfsync", persistence == RedisPersistence.Always ? "always" : "everysec");
            await server.ConfigSetAsync("appendonly", "yes");
            while ((await server.InfoAsync("persistence")).SelectMany(g => g).Any(p => p.Key is "aof_rewrite_in_progress" or "aof_rewrite_scheduled" && p.Value != "0"))
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (server, connection) in Redis.Values)
        {
            await connection.DisposeAsync();
            await server.DisposeAsync();
        }

        await Admin.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
