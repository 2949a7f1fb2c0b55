using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using SessionStore.Postgres;
using SessionStore.Redis;

namespace SessionStore.Tests.Chaos;

/// <summary>
/// ASP.NET Core's session middleware loads a session with the synchronous <c>Get</c> unless the app awaits
/// <c>LoadAsync</c>. A burst of such requests blocks every thread-pool thread at once, and each new request goes
/// to the back of the pool's queue. A store whose synchronous call needs a pool thread to finish (StackExchange.Redis
/// 3 completes even synchronous commands there) must still answer: before the fix every read of this burst timed
/// out, and the middleware reads a session that failed to load as empty.
/// </summary>
[Collection(nameof(ChaosCollection))]
public sealed class SynchronousBurstTests(ChaosServers servers)
{
    private const int ReadsPerCaller = 10;

    private static readonly DistributedCacheEntryOptions Sliding = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("redis")]
    [InlineData("postgresql")]
    public async Task Synchronous_reads_answer_while_a_burst_of_them_holds_every_thread_pool_thread(string store)
    {
        servers.Require();
        var cache = Cache(store);
        using var owned = (IDisposable)cache;
        var key = Guid.NewGuid().ToString();
        byte[] value = [1, 2, 3];
        await cache.SetAsync(key, value, Sliding, Token);

        // More callers than the pool has threads; each read is queued anew, behind the others, as requests arrive.
        var callers = ThreadPool.ThreadCount + (4 * Environment.ProcessorCount) + 16;
        var failures = new ConcurrentQueue<Exception>();
        using var finished = new CountdownEvent(callers);
        void Read(int remaining)
        {
            try
            {
                if (!value.AsSpan().SequenceEqual(cache.Get(key)))
                {
                    failures.Enqueue(new InvalidOperationException("The read returned another value."));
                }
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }

            if (remaining > 1)
            {
                ThreadPool.QueueUserWorkItem(_ => Read(remaining - 1));
            }
            else
            {
                finished.Signal();
            }
        }

        for (var caller = 0; caller < callers; caller++)
        {
            ThreadPool.QueueUserWorkItem(_ => Read(ReadsPerCaller));
        }

        Assert.True(finished.Wait(TimeSpan.FromMinutes(2), Token), $"{finished.CurrentCount} of {callers} callers still reading after 2 minutes.");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {callers * ReadsPerCaller} reads failed; {ThreadPool.ThreadCount} threads: {string.Join("; ", failures.Select(e => e.GetType().Name + ": " + e.Message).Distinct())}");
    }

    private IDistributedCache Cache(string store) => store switch
    {
        "redis" => new RedisSessionCache(Options.Create(new RedisSessionCacheOptions
        {
            Configuration = servers.Redis.Configuration,
            InstanceName = $"burst-{Guid.NewGuid():N}:",
        })),
        _ => new PostgresSessionCache(Options.Create(new PostgresSessionCacheOptions
        {
            ConnectionString = servers.Postgres.ConnectionString,
            TableName = $"burst_{Guid.NewGuid():N}",
            CreateTableIfMissing = true,
        })),
    };
}
