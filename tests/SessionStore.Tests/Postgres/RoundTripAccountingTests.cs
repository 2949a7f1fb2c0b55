using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>
/// Counts what a read-only session request costs: the statements Npgsql sends (from its tracing), and the
/// row versions PostgreSQL writes (from <c>pg_stat_user_tables</c>). Such a request is a <c>Get</c> then a
/// <c>RefreshAsync</c>, as ASP.NET Core's DistributedSession issues them.
/// </summary>
public sealed class RoundTripAccountingTests(PostgresServer server, ITestOutputHelper output) : IDisposable
{
    private static readonly ActivitySource TestSource = new("SessionStore.Tests.RoundTrips");
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private readonly ConcurrentBag<Activity> _statements = [];
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name is "Npgsql" or "SessionStore.Tests.RoundTrips",
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(SessionCacheProviderOptions.DefaultTouchThreshold, 1)]
    [InlineData(0.0, 2)]
    public async Task A_read_only_session_request_is_one_round_trip_at_the_default_threshold(double threshold, int expectedRoundTrips)
    {
        _listener.ActivityStarted = activity =>
        {
            if (activity.Source.Name == "Npgsql")
            {
                _statements.Add(activity);
            }
        };
        ActivitySource.AddActivityListener(_listener);
        using var table = new PostgresTestTable(server, o => o.TouchThreshold = threshold);
        var key = Guid.NewGuid().ToString();
        await table.Cache.SetAsync(key, new byte[2000], IdleTimeout, Token);

        var asyncRequest = await CountStatementsAsync(async () =>
        {
            await table.Cache.GetAsync(key, Token);
            await table.Cache.RefreshAsync(key, Token);
        });
        var syncLoadRequest = await CountStatementsAsync(async () =>
        {
            table.Cache.Get(key);
            await table.Cache.RefreshAsync(key, Token);
        });
        var untouchedSessionRequest = await CountStatementsAsync(() => table.Cache.RefreshAsync(key, Token));

        output.WriteLine($"Touch threshold {threshold}: read-only session request (GetAsync + RefreshAsync): {asyncRequest} round trip(s); with a synchronous Get: {syncLoadRequest}; " +
            $"a request that never loads the session (RefreshAsync only): {untouchedSessionRequest}. For comparison: Microsoft RedisCache 4, Microsoft's PostgreSQL cache 2.");
        Assert.Equal(expectedRoundTrips, asyncRequest);
        Assert.Equal(expectedRoundTrips, syncLoadRequest);
        Assert.Equal(1, untouchedSessionRequest);
    }

    [Theory]
    [InlineData(0.1, 0, 3)]
    [InlineData(0.0, 1_000, 2_000)]
    public async Task A_thousand_read_only_requests_write_rows_only_as_the_threshold_allows(double threshold, int minimumUpdates, int maximumUpdates)
    {
        var applicationName = "rt-" + Guid.NewGuid().ToString("N")[..12];
        var table = new PostgresTestTable(server, o =>
        {
            o.TouchThreshold = threshold;
            o.ConnectionString = $"{server.ConnectionString};Application Name={applicationName}";
        });
        var key = Guid.NewGuid().ToString();
        await table.Cache.SetAsync(key, new byte[2000], IdleTimeout, Token);
        for (var i = 0; i < 1_000; i++)
        {
            await table.Cache.GetAsync(key, Token);
            await table.Cache.RefreshAsync(key, Token);
        }

        // A backend publishes its table statistics when it exits: close the cache's connections and wait.
        table.Dispose();
        await WaitUntilAsync(async () => await table.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", applicationName) == 0);
        var updates = await table.ScalarAsync<long>("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = '{table}'::regclass");
        var hotUpdates = await table.ScalarAsync<long>("SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = '{table}'::regclass");

        output.WriteLine($"Touch threshold {threshold}: 1,000 read-only requests wrote {updates} row version(s), {hotUpdates} of them HOT.");
        Assert.InRange(updates, minimumUpdates, maximumUpdates);
    }

    public void Dispose() => _listener.Dispose();

    private async Task<int> CountStatementsAsync(Func<Task> request)
    {
        using var root = TestSource.StartActivity("request")!;
        await request();
        root.Stop();
        return _statements.Count(a => a.RootId == root.RootId);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The cache's connections did not close within 20 seconds.");
            await Task.Delay(50, Token);
        }

        // The statistics are flushed as the backend exits, just after it leaves pg_stat_activity.
        await Task.Delay(500, Token);
    }
}
