using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Faults;

/// <summary>
/// PostgreSQL hung with SIGSTOP (it accepts and never answers): every operation of the cache ends within
/// its operation timeout with an error naming the store and the operation, a cancelled token is honoured at once,
/// and the cache works again once the server does.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungPostgresTests(FaultServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A cache on a table of its own, created beforehand so that the short timeout bounds only the operations under test.</summary>
    private async Task<PostgresSessionCache> NewCacheAsync(TimeSpan timeout, Npgsql.NpgsqlDataSource? borrowed = null)
    {
        var table = PostgresServer.UniqueTableName("hung");
        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(servers.PostgresConnectionString))
        {
            await new PostgresSchemaMigrator(dataSource, "public", table).MigrateAsync(Token);
        }

        return new PostgresSessionCache(borrowed is null
            ? new PostgresSessionCacheOptions { ConnectionString = servers.PostgresConnectionString, TableName = table, OperationTimeout = timeout }
            : new PostgresSessionCacheOptions { DataSource = borrowed, TableName = table, OperationTimeout = timeout });
    }

    [Theory]
    [MemberData(nameof(HungServerTiming.Operations), MemberType = typeof(HungServerTiming))]
    public async Task Every_operation_fails_within_the_timeout_naming_store_and_operation(string operation)
    {
        using var cache = await NewCacheAsync(Timeout);
        var key = Guid.NewGuid().ToString();
        await cache.SetAsync(key, [1, 2, 3], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(1) }, Token);
        await Task.Delay(200, Token); // so that a refresh is due and goes to the server
        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();

        var (error, elapsed) = await HungServerTiming.FailsAsync<SessionStoreTimeoutException>(() => HungServerTiming.CallAsync(cache, operation, key, Token));
        await freezer.ThawAsync();

        output.WriteLine($"{operation} on hung PostgreSQL: {error.GetType().Name} after {elapsed.TotalMilliseconds:0} ms (timeout {Timeout.TotalMilliseconds} ms): {error.Message}");
        HungServerTiming.AssertTimedOut(error, elapsed, "postgresql", operation, Timeout);
    }

    [Fact]
    public async Task Calls_that_find_the_table_unchecked_do_not_queue_behind_each_other_against_a_hung_server()
    {
        // The first use checks (and creates) the table; against a hung server every call behind it used to wait for
        // the lock and then try again itself, one after another: a synchronous Get behind eight took 17.8 s.
        var timeout = TimeSpan.FromSeconds(2);
        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions
        {
            ConnectionString = servers.PostgresConnectionString,
            TableName = PostgresServer.UniqueTableName("hungschema"),
            CreateTableIfMissing = true,
            OperationTimeout = timeout,
        });
        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();

        var abandoned = Enumerable.Range(0, 8).Select(_ => cache.GetAsync("k", Token)).ToArray();
        var (error, elapsed) = await HungServerTiming.FailsAsync<SessionStoreTimeoutException>(() => Task.Run(() => cache.Get("k"), Token));
        await Task.WhenAll(abandoned).ContinueWith(_ => { }, TaskScheduler.Default);
        await freezer.ThawAsync();

        // Its own wait for the check under way, then (if that one gave up) its own bounded check.
        output.WriteLine($"Synchronous Get behind 8 unchecked calls on hung PostgreSQL: {error.GetType().Name} after {elapsed.TotalMilliseconds:0} ms: {error.Message}");
        Assert.Equal("get", error.Operation);
        Assert.InRange(elapsed, TimeSpan.Zero, (2 * timeout) + HungServerTiming.Slack);
    }

    [Fact]
    public async Task A_cancelled_token_is_honoured_within_100_ms()
    {
        using var cache = await NewCacheAsync(TimeSpan.FromSeconds(30));
        var key = Guid.NewGuid().ToString();
        await cache.SetAsync(key, [1], IdleTimeout, Token);
        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();

        var latency = await HungServerTiming.CancellationLatencyAsync(t => cache.GetAsync(key, t), TimeSpan.FromMilliseconds(300));
        await freezer.ThawAsync();

        output.WriteLine($"Cancelled GetAsync on hung PostgreSQL returned {latency.TotalMilliseconds:0.0} ms after the token fired.");
        Assert.InRange(latency, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    public async Task A_synchronous_get_is_bounded_by_the_driver_timeouts_derived_from_the_operation_timeout(bool borrowedWithoutCommandTimeout, int seconds)
    {
        // A data source the application passes, set up as docs/postgres.md says (Timeout, Cancellation Timeout and
        // GSS Encryption Mode) but with Command Timeout=0, as it suggests when nothing else needs a driver timeout: the
        // cache still gives its synchronous statements one.
        var timeout = TimeSpan.FromSeconds(seconds);
        await using var borrowed = borrowedWithoutCommandTimeout
            ? Npgsql.NpgsqlDataSource.Create(servers.PostgresConnectionString + $";Command Timeout=0;Timeout={seconds};Cancellation Timeout=-1;GSS Encryption Mode=Disable")
            : null;
        using var cache = await NewCacheAsync(timeout, borrowed);
        var key = Guid.NewGuid().ToString();
        cache.Set(key, [1], IdleTimeout);
        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var error = Assert.Throws<SessionStoreTimeoutException>(() => cache.Get(key));
        watch.Stop();
        await freezer.ThawAsync();

        // Npgsql's command timeout (whole seconds), then its cancel request, whose connection to the hung server
        // waits the connect timeout (the same seconds). Asking for GSS encryption first doubled that wait.
        var bound = 2 * TimeSpan.FromSeconds(Math.Ceiling(timeout.TotalSeconds));
        output.WriteLine($"Synchronous Get on hung PostgreSQL: failed after {watch.Elapsed.TotalMilliseconds:0} ms (driver bound {bound.TotalMilliseconds} ms): {error.Message}");
        Assert.Equal("get", error.Operation);
        Assert.InRange(watch.Elapsed, timeout - TimeSpan.FromMilliseconds(50), bound + HungServerTiming.Slack);
    }

    [Fact]
    public async Task After_the_server_resumes_the_cache_serves_the_right_values_again()
    {
        using var cache = await NewCacheAsync(Timeout);
        var key = Guid.NewGuid().ToString();
        await cache.SetAsync(key, [1], IdleTimeout, Token);
        await using (var freezer = await servers.PostgresFreezerAsync())
        {
            await freezer.FreezeAsync();
            var abandoned = Enumerable.Range(0, 8).Select(i => Assert.ThrowsAnyAsync<Exception>(() => cache.SetAsync(key, [9, (byte)i], IdleTimeout, Token))).ToList();
            await Task.WhenAll(abandoned);
            await freezer.ThawAsync();
        }

        // The abandoned writes may still land once the server runs again (their statements were sent); wait for
        // the driver to finish with them, then a new write must win and be read back on every pooled connection.
        await Task.Delay(Timeout, Token);
        await cache.SetAsync(key, [2], IdleTimeout, Token);
        var reads = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => cache.GetAsync(key, Token)));
        Assert.All(reads, read => Assert.Equal([2], read));
    }
}
