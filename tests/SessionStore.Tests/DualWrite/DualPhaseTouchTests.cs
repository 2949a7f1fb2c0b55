using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A read-only request in a dual phase (the session middleware's <c>GetAsync</c> then <c>RefreshAsync</c>) reaches
/// the secondary only when the primary extended the session's sliding expiry, and the secondary's copy then never
/// expires before the primary's. Lifetimes are read from the servers directly (PTTL, <c>expire - now()</c>), which
/// touch nothing.
/// </summary>
public sealed class DualPhaseTouchTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("dual-redis-primary", "redis", "postgresql")]
    [InlineData("dual-pg-primary", "postgresql", "redis")]
    public async Task Read_only_requests_reach_the_secondary_only_when_a_touch_is_due(string phase, string primary, string secondary)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        using var durations = new MetricCollector<double>(harness.Services.GetRequiredService<IMeterFactory>(), SessionStoreMetrics.MeterName, SessionStoreMetrics.OperationDuration);
        var idle = Guid.NewGuid().ToString();
        var due = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(idle, [1], DualWriteHarness.IdleTimeout, Token);

        // A read within milliseconds of a write cannot tell the write from its own touch, and touches the secondary.
        await Task.Delay(50, Token);
        durations.Clear();

        // Twenty minutes of sliding window and a 10 % touch threshold: no touch is due for two minutes.
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal([1], await harness.Cache.GetAsync(idle, Token));
            await harness.Cache.RefreshAsync(idle, Token);
        }

        Assert.Equal(50, Count(primary, "get"));
        Assert.Equal(0, Count(secondary, null));

        // Five seconds of window: 0.7 s on, the touch is due, and the one request that makes it touches both stores.
        await harness.Cache.SetAsync(due, [2], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(5) }, Token);
        await Task.Delay(TimeSpan.FromMilliseconds(700), Token);
        durations.Clear();
        Assert.Equal([2], await harness.Cache.GetAsync(due, Token));
        await harness.Cache.RefreshAsync(due, Token);
        Assert.Equal(1, Count(secondary, "refresh"));
        Assert.Equal(1, Count(secondary, null));
        Assert.True(await SecondaryRemainingAsync(harness, phase, due) > TimeSpan.FromSeconds(4.5));

        long Count(string store, string? operation) => durations.GetMeasurementSnapshot().Count(m =>
            m.Tags["db.system.name"] as string == store && (operation is null || m.Tags["db.operation.name"] as string == operation));
    }

    [Theory]
    [InlineData("dual-redis-primary")]
    [InlineData("dual-pg-primary")]
    public async Task Over_many_read_only_requests_no_session_expires_in_the_secondary_before_the_primary(string phase)
    {
        // The secondary skips touches until its copy is half a window behind: a touch passed on with the
        // secondary's own threshold would leave its copy ending up to that much before the primary's.
        var secondaryThreshold = phase == "dual-pg-primary" ? "SessionStore:Redis:TouchThreshold" : "SessionStore:Postgres:TouchThreshold";
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration, s => s[secondaryThreshold] = "0.5");
        var window = TimeSpan.FromSeconds(5);
        var keys = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in keys)
        {
            await harness.Cache.SetAsync(key, [7], new DistributedCacheEntryOptions { SlidingExpiration = window }, Token);
        }

        // Two and a half windows of read-only requests, the sessions in turn at uneven intervals, so that touches fall due at
        // every point of the threshold; each session's lifetimes are compared after every request.
        var random = new Random(12);
        var clock = Stopwatch.StartNew();
        var checks = 0;
        while (clock.Elapsed < window * 2.5)
        {
            var key = keys[checks % keys.Length];
            Assert.Equal([7], await harness.Cache.GetAsync(key, Token));
            await harness.Cache.RefreshAsync(key, Token);
            await AssertSecondaryOutlivesPrimaryAsync(key);
            checks++;
            await Task.Delay(random.Next(0, 100), Token);
        }

        Assert.True(checks > 20, $"Only {checks} requests ran.");

        // Left alone, every session still ends in the secondary no earlier than in the primary.
        foreach (var key in keys)
        {
            await AssertSecondaryOutlivesPrimaryAsync(key);
        }

        async Task AssertSecondaryOutlivesPrimaryAsync(string key)
        {
            // Each server measures the time left at some instant between sending and answering: the secondary's
            // end is taken at its latest, the primary's at its earliest, plus Redis's whole-millisecond TTL. A copy
            // left behind by a missed touch ends a good part of the touch threshold (here up to 2.5 s) early.
            var secondary = await SecondaryRemainingAsync(harness, phase, key);
            var secondaryAnswered = clock.Elapsed;
            var primarySent = clock.Elapsed;
            var primary = await PrimaryRemainingAsync(harness, phase, key);
            Assert.NotNull(primary);
            Assert.NotNull(secondary);

            var secondaryEnds = secondaryAnswered + secondary.Value + TimeSpan.FromMilliseconds(1);
            var primaryEnds = primarySent + primary.Value;
            Assert.True(
                secondaryEnds >= primaryEnds,
                $"The secondary's copy ends {(primaryEnds - secondaryEnds).TotalMilliseconds:0.0} ms before the primary's (phase {phase}).");
        }
    }

    private Task<TimeSpan?> PrimaryRemainingAsync(DualWriteHarness harness, string phase, string key) =>
        phase == "dual-pg-primary" ? PostgresRemainingAsync(harness, key) : RedisRemainingAsync(harness, key);

    private Task<TimeSpan?> SecondaryRemainingAsync(DualWriteHarness harness, string phase, string key) =>
        phase == "dual-pg-primary" ? RedisRemainingAsync(harness, key) : PostgresRemainingAsync(harness, key);

    private async Task<TimeSpan?> PostgresRemainingAsync(DualWriteHarness harness, string key)
    {
        var options = harness.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.Postgres;
        await using var command = postgres.DataSource.CreateCommand(
            $"SELECT expire - now() FROM \"{options.SchemaName}\".\"{options.TableName}\" WHERE sid = $1 AND expire > now()");
        command.Parameters.AddWithValue(key);
        return await command.ExecuteScalarAsync(Token) is TimeSpan remaining ? remaining : null;
    }

    private async Task<TimeSpan?> RedisRemainingAsync(DualWriteHarness harness, string key)
    {
        var prefix = harness.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.Redis.InstanceName;
        return await redis.Connection.GetDatabase().KeyTimeToLiveAsync(prefix + key);
    }
}
