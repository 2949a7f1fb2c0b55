using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using SessionStore.LocalServers;
using SessionStore.Postgres;
using SessionStore.Redis;

namespace SessionStore.Tests.Chaos;

/// <summary>
/// ASP.NET Core's session middleware loads a session with the synchronous <c>Get</c> unless the app awaits
/// <c>LoadAsync</c>. A burst of such requests blocks every thread-pool thread at once. A store whose synchronous
/// call needs a pool thread to finish (StackExchange.Redis 3 completes even synchronous commands there) must still
/// answer: before the fix many reads of this burst timed out, and the middleware reads a session that failed to
/// load as empty.
/// </summary>
/// <remarks>
/// The fix makes the wait one the pool sees, so the pool adds a thread for each blocked one. How fast it adds them
/// is the runtime's setting, not the store's: by default this burst took 4 s of the 5 s timeout on an idle 2-core
/// machine and 7 s on a busy one, and a test run that happened to be slow failed. The test project therefore lets
/// the pool add 32 threads per core without delay (<c>ThreadsToAddWithoutDelay_ProcCountFactor</c>, in its
/// .csproj). That setting only speeds up waits the pool sees: under two busy CPU loops the burst then took 0.3 to
/// 1.5 s, while a wait the pool cannot see (a <c>ManualResetEventSlim</c>) still failed 32 to 36 of 290 reads.
/// </remarks>
[Collection(nameof(ChaosCollection))]
public sealed class SynchronousBurstTests(ChaosServers servers, ITestOutputHelper output)
{
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

        var burst = SynchronousBurst.Run(() => cache.Get(key), value, readsPerCaller: 10, TimeSpan.FromMinutes(2));

        output.WriteLine($"{burst.Reads} reads in {burst.Elapsed.TotalSeconds:0.00} s; pool threads after: {burst.ThreadsAfter}");
        Assert.True(burst.Failures.Count == 0,
            $"{burst.Failures.Count} of {burst.Reads} reads failed: {string.Join("; ", burst.Failures.Select(e => e.GetType().Name + ": " + e.Message).Distinct())}");
    }

    // The default OperationTimeout: the bound a starved read used to run into.
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
