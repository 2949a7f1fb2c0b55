using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Limits;

/// <summary>
/// The clock rule (docs/security.md): an absolute expiration is an instant on the application's clock, turned into
/// a duration at the <c>Set</c> and counted down by the store on its own clock. So an application clock an hour
/// off the database's changes no entry's lifetime, and the skew is reported once.
/// </summary>
public sealed class ClockRuleTests(PostgresServer postgres, RedisServer redis)
{
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(10);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string, int> StoreAndSkew() => new()
    {
        { "postgresql", -1 },
        { "postgresql", 1 },
        { "redis", -1 },
        { "redis", 1 },
    };

    [Theory]
    [MemberData(nameof(StoreAndSkew))]
    public async Task An_application_clock_an_hour_off_keeps_an_absolute_expiration_30_minutes_away(string store, int skewHours)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(skewHours));
        using var pair = new StorePair(postgres, redis, clock);
        var cache = pair.Store(store);
        var key = Guid.NewGuid().ToString();

        await cache.SetAsync(key, new byte[] { 7 }, new DistributedCacheEntryOptions { AbsoluteExpiration = clock.GetUtcNow().AddMinutes(30) }, Token);

        var entry = await cache.GetEntryAsync(key, async: true, Token);
        Assert.NotNull(entry);
        Assert.Equal(new byte[] { 7 }, entry.Value);
        Assert.InRange(entry.Expiry.Remaining!.Value, TimeSpan.FromMinutes(30) - Slack, TimeSpan.FromMinutes(30));
        Assert.InRange(entry.Expiry.AbsoluteRemaining!.Value, TimeSpan.FromMinutes(30) - Slack, TimeSpan.FromMinutes(30));
    }

    [Theory]
    [MemberData(nameof(StoreAndSkew))]
    public async Task An_application_clock_an_hour_off_caps_a_sliding_window_at_the_absolute_expiration(string store, int skewHours)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(skewHours));
        using var pair = new StorePair(postgres, redis, clock);
        var cache = pair.Store(store);
        var key = Guid.NewGuid().ToString();

        await cache.SetAsync(key, new byte[] { 7 }, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpiration = clock.GetUtcNow().AddMinutes(5) }, Token);

        var expiry = (await cache.GetEntryAsync(key, async: true, Token))!.Expiry;
        Assert.InRange(expiry.Remaining!.Value, TimeSpan.FromMinutes(5) - Slack, TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.FromMinutes(20), expiry.Sliding);
    }

    [Fact]
    public async Task A_database_clock_an_hour_ahead_is_reported_once_as_a_warning()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-1));
        var logger = new FakeLogger<PostgresSessionCache>();
        using var pair = new StorePair(postgres, redis, clock, logger);

        for (var i = 0; i < 3; i++)
        {
            await pair.Postgres.SetAsync(Guid.NewGuid().ToString(), [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(1) }, Token);
        }

        var warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.PostgresClockSkew);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("ahead", warning.Message, StringComparison.Ordinal);
        var skewSeconds = double.Parse(warning.StructuredState!.Single(p => p.Key == "SkewSeconds").Value!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(skewSeconds, 3600 - 10, 3600 + 10);
    }

    [Fact]
    public async Task Clocks_in_agreement_log_no_skew()
    {
        var logger = new FakeLogger<PostgresSessionCache>();
        using var pair = new StorePair(postgres, redis, postgresLogger: logger);

        await pair.Postgres.SetAsync(Guid.NewGuid().ToString(), [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(1) }, Token);

        Assert.DoesNotContain(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.PostgresClockSkew);
    }
}
