using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Limits;

/// <summary>
/// Extreme <see cref="DistributedCacheEntryOptions"/> on the real stores, each named by its input. The rules
/// (docs/security.md): a lifetime of 100 years or more means "never"; every lifetime is rounded up to a whole
/// millisecond; an absolute expiration not in the future is refused before any I/O. Both stores answer alike.
/// </summary>
public sealed class ExpiryExtremesTests(PostgresServer postgres, RedisServer redis)
{
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan HundredYears = EntryExpiration.MaximumLifetime;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> NeverExpiring() => Cross(
        "AbsoluteExpiration = DateTimeOffset.MaxValue",
        "AbsoluteExpirationRelativeToNow = TimeSpan.MaxValue",
        "SlidingExpiration = TimeSpan.MaxValue",
        "all three at their MaxValue",
        "AbsoluteExpiration = now + 100 years + 1 min",
        "AbsoluteExpirationRelativeToNow = 100 years");

    public static TheoryData<string, string> Finite() => Cross(
        "SlidingExpiration = 20 min, AbsoluteExpiration = DateTimeOffset.MaxValue",
        "SlidingExpiration = TimeSpan.MaxValue, AbsoluteExpirationRelativeToNow = 10 min",
        "AbsoluteExpirationRelativeToNow = 1 h, AbsoluteExpiration = DateTimeOffset.MaxValue",
        "AbsoluteExpirationRelativeToNow = 100 years - 1 day",
        "SlidingExpiration = 100 years - 1 day");

    public static TheoryData<string, string> Tiny() => Cross(
        "SlidingExpiration = 1 tick",
        "SlidingExpiration = 999 ns",
        "AbsoluteExpirationRelativeToNow = 1 tick",
        "SlidingExpiration = 1 tick, AbsoluteExpirationRelativeToNow = TimeSpan.MaxValue");

    public static TheoryData<string, string> Refused() => Cross(
        "AbsoluteExpiration = DateTimeOffset.MinValue",
        "AbsoluteExpiration = now - 1 s",
        "AbsoluteExpiration = now - 1 s, AbsoluteExpirationRelativeToNow = 1 h");

    [Theory]
    [MemberData(nameof(NeverExpiring))]
    public async Task Lifetimes_of_100_years_or_more_mean_never_and_the_entry_stays_readable(string store, string input)
    {
        using var pair = new StorePair(postgres, redis);
        var cache = pair.Store(store);
        var key = Guid.NewGuid().ToString();

        await cache.SetAsync(key, new byte[] { 1 }, Options(input), Token);

        var entry = await cache.GetEntryAsync(key, async: true, Token);
        Assert.NotNull(entry);
        Assert.Equal(new ExpiryState(null, null, null), entry.Expiry);
        Assert.Equal(new byte[] { 1 }, cache.Get(key));
        if (store == "postgresql")
        {
            Assert.True(await pair.Table.ScalarAsync<bool>("SELECT expire = 'infinity' AND absolute_expire IS NULL AND sliding_expiration IS NULL FROM {table} WHERE sid = $1", key));
        }
        else
        {
            Assert.Null(await redis.Connection.GetDatabase().KeyTimeToLiveAsync(pair.Prefix + key));
        }
    }

    [Theory]
    [MemberData(nameof(Finite))]
    public async Task Extreme_but_finite_combinations_keep_the_finite_part(string store, string input)
    {
        using var pair = new StorePair(postgres, redis);
        var cache = pair.Store(store);
        var key = Guid.NewGuid().ToString();
        var options = Options(input);
        var (remaining, sliding, cap) = Expected(input);

        await cache.SetAsync(key, new byte[] { 1 }, options, Token);

        var expiry = (await cache.GetEntryAsync(key, async: true, Token))!.Expiry;
        AssertClose(remaining, expiry.Remaining);
        Assert.Equal(sliding, expiry.Sliding);
        AssertClose(cap, expiry.AbsoluteRemaining);
    }

    [Theory]
    [MemberData(nameof(Tiny))]
    public async Task Lifetimes_under_a_millisecond_are_stored_as_one_millisecond_never_as_expired_on_arrival(string store, string input)
    {
        using var pair = new StorePair(postgres, redis);
        var cache = pair.Store(store);
        var key = Guid.NewGuid().ToString();
        var before = DateTimeOffset.UtcNow;

        await cache.SetAsync(key, new byte[] { 1 }, Options(input), Token);
        var after = DateTimeOffset.UtcNow;

        if (store == "postgresql")
        {
            // The row lives exactly one millisecond past the statement's now(): not expired on arrival.
            Assert.Equal(TimeSpan.FromMilliseconds(1), await pair.Table.ScalarAsync<TimeSpan>("SELECT expire - updated_at FROM {table} WHERE sid = $1", key));
            if (input.StartsWith("SlidingExpiration", StringComparison.Ordinal))
            {
                Assert.Equal(TimeSpan.FromMilliseconds(1), await pair.Table.ScalarAsync<TimeSpan>("SELECT sliding_expiration FROM {table} WHERE sid = $1", key));
            }
        }
        else
        {
            // Redis may have expired the key already (that is the point: it lived); when it has not, its fields show the rounding.
            var fields = await redis.Connection.GetDatabase().HashGetAsync(pair.Prefix + key, ["absexp", "sldexp"]);
            if (fields[1].IsNull)
            {
                return;
            }

            if (input.StartsWith("SlidingExpiration", StringComparison.Ordinal))
            {
                Assert.Equal(TimeSpan.TicksPerMillisecond, (long)fields[1]);
            }
            else if (!fields[0].IsNull)
            {
                // One millisecond past the moment of the write, which lies somewhere between before and after.
                Assert.InRange((long)fields[0], before.UtcTicks + TimeSpan.TicksPerMillisecond, after.UtcTicks + TimeSpan.TicksPerMillisecond);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task An_absolute_expiration_not_in_the_future_is_refused_before_any_io(string store, string input)
    {
        using var pair = new StorePair(postgres, redis);
        var cache = pair.Store(store);
        var key = Guid.NewGuid().ToString();

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => cache.SetAsync(key, new byte[] { 1 }, Options(input), Token));

        Assert.Equal(nameof(DistributedCacheEntryOptions.AbsoluteExpiration), error.ParamName);
        Assert.Null(await cache.GetAsync(key, Token));
    }

    internal static DistributedCacheEntryOptions Options(string input)
    {
        var now = DateTimeOffset.UtcNow;
        return input switch
        {
            "AbsoluteExpiration = DateTimeOffset.MaxValue" => new() { AbsoluteExpiration = DateTimeOffset.MaxValue },
            "AbsoluteExpirationRelativeToNow = TimeSpan.MaxValue" => new() { AbsoluteExpirationRelativeToNow = TimeSpan.MaxValue },
            "SlidingExpiration = TimeSpan.MaxValue" => new() { SlidingExpiration = TimeSpan.MaxValue },
            "all three at their MaxValue" => new() { AbsoluteExpiration = DateTimeOffset.MaxValue, AbsoluteExpirationRelativeToNow = TimeSpan.MaxValue, SlidingExpiration = TimeSpan.MaxValue },
            "AbsoluteExpiration = now + 100 years + 1 min" => new() { AbsoluteExpiration = now + HundredYears + TimeSpan.FromMinutes(1) },
            "AbsoluteExpirationRelativeToNow = 100 years" => new() { AbsoluteExpirationRelativeToNow = HundredYears },
            "SlidingExpiration = 20 min, AbsoluteExpiration = DateTimeOffset.MaxValue" => new() { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpiration = DateTimeOffset.MaxValue },
            "SlidingExpiration = TimeSpan.MaxValue, AbsoluteExpirationRelativeToNow = 10 min" => new() { SlidingExpiration = TimeSpan.MaxValue, AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(10) },
            "AbsoluteExpirationRelativeToNow = 1 h, AbsoluteExpiration = DateTimeOffset.MaxValue" => new() { AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1), AbsoluteExpiration = DateTimeOffset.MaxValue },
            "AbsoluteExpirationRelativeToNow = 100 years - 1 day" => new() { AbsoluteExpirationRelativeToNow = HundredYears - TimeSpan.FromDays(1) },
            "SlidingExpiration = 100 years - 1 day" => new() { SlidingExpiration = HundredYears - TimeSpan.FromDays(1) },
            "SlidingExpiration = 1 tick" => new() { SlidingExpiration = TimeSpan.FromTicks(1) },
            "SlidingExpiration = 999 ns" => new() { SlidingExpiration = TimeSpan.FromTicks(9) },
            "AbsoluteExpirationRelativeToNow = 1 tick" => new() { AbsoluteExpirationRelativeToNow = TimeSpan.FromTicks(1) },
            "SlidingExpiration = 1 tick, AbsoluteExpirationRelativeToNow = TimeSpan.MaxValue" => new() { SlidingExpiration = TimeSpan.FromTicks(1), AbsoluteExpirationRelativeToNow = TimeSpan.MaxValue },
            "AbsoluteExpiration = DateTimeOffset.MinValue" => new() { AbsoluteExpiration = DateTimeOffset.MinValue },
            "AbsoluteExpiration = now - 1 s" => new() { AbsoluteExpiration = now.AddSeconds(-1) },
            "AbsoluteExpiration = now - 1 s, AbsoluteExpirationRelativeToNow = 1 h" => new() { AbsoluteExpiration = now.AddSeconds(-1), AbsoluteExpirationRelativeToNow = TimeSpan.FromHours(1) },
            _ => throw new ArgumentOutOfRangeException(nameof(input), input, "unknown input"),
        };
    }

    private static (TimeSpan? Remaining, TimeSpan? Sliding, TimeSpan? Cap) Expected(string input) => input switch
    {
        "SlidingExpiration = 20 min, AbsoluteExpiration = DateTimeOffset.MaxValue" => (TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(20), null),
        "SlidingExpiration = TimeSpan.MaxValue, AbsoluteExpirationRelativeToNow = 10 min" => (TimeSpan.FromMinutes(10), null, TimeSpan.FromMinutes(10)),
        "AbsoluteExpirationRelativeToNow = 1 h, AbsoluteExpiration = DateTimeOffset.MaxValue" => (TimeSpan.FromHours(1), null, TimeSpan.FromHours(1)),
        "AbsoluteExpirationRelativeToNow = 100 years - 1 day" => (HundredYears - TimeSpan.FromDays(1), null, HundredYears - TimeSpan.FromDays(1)),
        "SlidingExpiration = 100 years - 1 day" => (HundredYears - TimeSpan.FromDays(1), HundredYears - TimeSpan.FromDays(1), null),
        _ => throw new ArgumentOutOfRangeException(nameof(input), input, "no expectation"),
    };

    private static void AssertClose(TimeSpan? expected, TimeSpan? actual)
    {
        if (expected is not { } e)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        Assert.InRange(actual.Value, e - Slack, e);
    }

    private static TheoryData<string, string> Cross(params string[] inputs)
    {
        var data = new TheoryData<string, string>();
        foreach (var store in new[] { "postgresql", "redis" })
        {
            foreach (var input in inputs)
            {
                data.Add(store, input);
            }
        }

        return data;
    }
}
