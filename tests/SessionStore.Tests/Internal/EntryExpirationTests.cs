using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;

namespace SessionStore.Tests.Internal;

public sealed class EntryExpirationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_relative_expiration_wins_over_a_fixed_one_as_in_RedisCache()
    {
        var expiration = EntryExpiration.From(new DistributedCacheEntryOptions
        {
            AbsoluteExpiration = Now.AddHours(1),
            AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(5),
        }, Now);

        Assert.Null(expiration.Absolute);
        Assert.Equal(TimeSpan.FromMinutes(5), expiration.RelativeToNow);
        Assert.Equal(TimeSpan.FromMinutes(5), expiration.TimeToLive(Now));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_fixed_expiration_not_in_the_future_is_refused(int secondsFromNow)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => EntryExpiration.From(
            new DistributedCacheEntryOptions { AbsoluteExpiration = Now.AddSeconds(secondsFromNow) }, Now));
        Assert.Equal(nameof(DistributedCacheEntryOptions.AbsoluteExpiration), error.ParamName);
    }

    [Fact]
    public void The_time_to_live_is_the_sliding_window_capped_by_the_absolute_expiration()
    {
        Assert.Equal(TimeSpan.FromMinutes(20), EntryExpiration.From(new() { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpiration = Now.AddHours(3) }, Now).TimeToLive(Now));
        Assert.Equal(TimeSpan.FromMinutes(2), EntryExpiration.From(new() { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpiration = Now.AddMinutes(2) }, Now).TimeToLive(Now));
        Assert.Equal(TimeSpan.FromHours(3), EntryExpiration.From(new() { AbsoluteExpiration = Now.AddHours(3) }, Now).TimeToLive(Now));
        Assert.Null(EntryExpiration.From(new(), Now).TimeToLive(Now));
    }
}
