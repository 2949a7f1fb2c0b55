using System.Globalization;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using SessionStore.LocalServers;
using SessionStore.Postgres;
using SessionStore.Redis;

namespace SessionStore.Benchmarks;

/// <summary>
/// The <c>sync-burst</c> command: the burst of synchronous reads that <c>Chaos/SynchronousBurstTests</c> asserts
/// SessionStore survives (<see cref="SynchronousBurst"/>), on one store per run, so that no earlier burst has grown
/// the process's thread pool.
/// </summary>
internal static class SynchronousBurstMeasurement
{
    public static async Task RunAsync(string store, int readsPerCaller)
    {
        if (store is not ("sessionstore-redis" or "rediscache" or "sessionstore-postgresql"))
        {
            throw new ArgumentException($"Unknown store '{store}': use sessionstore-redis, rediscache or sessionstore-postgresql.", nameof(store));
        }

        await using IAsyncDisposable server = store == "sessionstore-postgresql"
            ? await LocalPostgres.StartAsync(LocalPostgres.FindBinaries() ?? throw new InvalidOperationException("PostgreSQL's binaries were not found."))
            : await LocalRedis.StartAsync(LocalRedis.FindBinary() ?? throw new InvalidOperationException("redis-server was not found."));
        IDistributedCache cache = server switch
        {
            LocalPostgres postgres => new PostgresSessionCache(Options.Create(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, CreateTableIfMissing = true })),
            LocalRedis redis when store == "rediscache" => new RedisCache(Options.Create(new RedisCacheOptions { Configuration = redis.Configuration })),
            LocalRedis redis => new RedisSessionCache(Options.Create(new RedisSessionCacheOptions { Configuration = redis.Configuration })),
            _ => throw new InvalidOperationException(),
        };
        using var owned = (IDisposable)cache;
        byte[] value = [1, 2, 3];
        await cache.SetAsync("burst", value, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) });

        var threadsBefore = ThreadPool.ThreadCount;
        var burst = SynchronousBurst.Run(() => cache.Get("burst"), value, readsPerCaller, TimeSpan.FromMinutes(10));
        Console.WriteLine("| store | synchronous reads | failed | burst took | pool threads before → after | first failure |");
        Console.WriteLine("|---|---:|---:|---:|---|---|");
        var failure = burst.Failures.FirstOrDefault() is { } first ? Shorten($"{first.GetType().Name}: {first.Message}") : "—";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {store} | {burst.Reads:N0} | {burst.Failures.Count:N0} | {burst.Elapsed.TotalSeconds:0.0} s | {threadsBefore} → {burst.ThreadsAfter} | {failure} |"));
    }

    private static string Shorten(string text) => text.Length <= 100 ? text.ReplaceLineEndings(" ") : text[..100].ReplaceLineEndings(" ") + "…";
}
