using CsCheck;
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

        Assert.Equal(TimeSpan.FromMinutes(5), expiration.RelativeToNow);
        Assert.Equal(TimeSpan.FromMinutes(5), expiration.TimeToLive);
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
    public void DateTimeOffset_MinValue_as_absolute_expiration_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => EntryExpiration.From(new() { AbsoluteExpiration = DateTimeOffset.MinValue }, Now));

    [Fact]
    public void The_time_to_live_is_the_sliding_window_capped_by_the_absolute_expiration()
    {
        Assert.Equal(TimeSpan.FromMinutes(20), EntryExpiration.From(new() { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpiration = Now.AddHours(3) }, Now).TimeToLive);
        Assert.Equal(TimeSpan.FromMinutes(2), EntryExpiration.From(new() { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpiration = Now.AddMinutes(2) }, Now).TimeToLive);
        Assert.Equal(TimeSpan.FromHours(3), EntryExpiration.From(new() { AbsoluteExpiration = Now.AddHours(3) }, Now).TimeToLive);
        Assert.Null(EntryExpiration.From(new(), Now).TimeToLive);
    }

    [Fact]
    public void An_absolute_instant_becomes_a_duration_on_the_application_clock()
    {
        var expiration = EntryExpiration.From(new() { AbsoluteExpiration = Now.AddMinutes(30) }, Now);

        Assert.Equal(TimeSpan.FromMinutes(30), expiration.RelativeToNow);
    }

    [Fact]
    public void Redis_absexp_keeps_the_instant_given_exactly_as_RedisCache_writes_it()
    {
        var instant = Now.AddMinutes(30).AddTicks(3);

        Assert.Equal(instant, EntryExpiration.From(new() { AbsoluteExpiration = instant }, Now).AbsoluteAt(Now));
        Assert.Equal(Now.AddMinutes(5), EntryExpiration.From(new() { AbsoluteExpiration = instant, AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(5) }, Now).AbsoluteAt(Now));
        Assert.Null(EntryExpiration.From(new() { AbsoluteExpiration = DateTimeOffset.MaxValue }, Now).AbsoluteAt(Now));
        Assert.Null(EntryExpiration.From(new() { SlidingExpiration = TimeSpan.FromMinutes(1) }, Now).AbsoluteAt(Now));
    }

    [Fact]
    public void DateTimeOffset_MaxValue_as_absolute_expiration_means_never()
    {
        var expiration = EntryExpiration.From(new() { AbsoluteExpiration = DateTimeOffset.MaxValue }, Now);

        Assert.Null(expiration.RelativeToNow);
        Assert.Null(expiration.TimeToLive);
    }

    [Fact]
    public void TimeSpan_MaxValue_as_relative_or_sliding_expiration_means_never()
    {
        Assert.Null(EntryExpiration.From(new() { AbsoluteExpirationRelativeToNow = TimeSpan.MaxValue }, Now).TimeToLive);
        Assert.Null(EntryExpiration.From(new() { SlidingExpiration = TimeSpan.MaxValue }, Now).TimeToLive);
        Assert.Equal(TimeSpan.FromMinutes(1), EntryExpiration.From(new() { SlidingExpiration = TimeSpan.MaxValue, AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) }, Now).TimeToLive);
        Assert.Equal(TimeSpan.FromMinutes(1), EntryExpiration.From(new() { SlidingExpiration = TimeSpan.FromMinutes(1), AbsoluteExpiration = DateTimeOffset.MaxValue }, Now).TimeToLive);
    }

    [Fact]
    public void A_lifetime_just_under_the_maximum_is_kept_and_one_at_it_means_never()
    {
        var justUnder = EntryExpiration.MaximumLifetime - TimeSpan.FromMilliseconds(1);
        Assert.Equal(justUnder, EntryExpiration.From(new() { SlidingExpiration = justUnder }, Now).Sliding);
        Assert.Null(EntryExpiration.From(new() { SlidingExpiration = EntryExpiration.MaximumLifetime }, Now).Sliding);
        Assert.Null(EntryExpiration.From(new() { AbsoluteExpiration = Now + EntryExpiration.MaximumLifetime }, Now).RelativeToNow);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(9_999)]
    public void A_sub_millisecond_lifetime_is_rounded_up_to_one_millisecond(long ticks)
    {
        var duration = TimeSpan.FromTicks(ticks);
        Assert.Equal(TimeSpan.FromMilliseconds(1), EntryExpiration.From(new() { SlidingExpiration = duration }, Now).Sliding);
        Assert.Equal(TimeSpan.FromMilliseconds(1), EntryExpiration.From(new() { AbsoluteExpirationRelativeToNow = duration }, Now).RelativeToNow);
        Assert.Equal(TimeSpan.FromMilliseconds(1), EntryExpiration.From(new() { AbsoluteExpiration = Now + duration }, Now).RelativeToNow);
    }

    [Fact]
    public void Zero_or_negative_relative_and_sliding_expirations_are_refused_by_the_options_themselves()
    {
        var options = new DistributedCacheEntryOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.AbsoluteExpirationRelativeToNow = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.AbsoluteExpirationRelativeToNow = TimeSpan.FromTicks(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.AbsoluteExpirationRelativeToNow = TimeSpan.MinValue);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.SlidingExpiration = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.SlidingExpiration = TimeSpan.FromTicks(-1));
    }

    private static readonly Gen<long> Ticks = Gen.OneOf(
        Gen.Long[1, 100_000],
        Gen.Long[1, TimeSpan.TicksPerDay],
        Gen.Long[EntryExpiration.MaximumLifetime.Ticks - 10, EntryExpiration.MaximumLifetime.Ticks + 10],
        Gen.Long[1, TimeSpan.MaxValue.Ticks]);

    [Fact]
    public void Every_resolved_lifetime_is_never_shorter_than_asked_and_a_whole_millisecond() =>
        Gen.Select(Ticks, Ticks, Gen.Bool).Sample((relative, sliding, fixedInstant) =>
        {
            var options = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromTicks(sliding) };
            if (fixedInstant && relative < (DateTimeOffset.MaxValue - Now).Ticks)
            {
                options.AbsoluteExpiration = Now.AddTicks(relative);
            }
            else
            {
                options.AbsoluteExpirationRelativeToNow = TimeSpan.FromTicks(relative);
            }

            var expiration = EntryExpiration.From(options, Now);
            foreach (var (asked, got) in new[] { (relative, expiration.RelativeToNow), (sliding, expiration.Sliding) })
            {
                if (got is { } kept)
                {
                    Assert.InRange(kept.Ticks, asked, asked + TimeSpan.TicksPerMillisecond - 1);
                    Assert.Equal(0, kept.Ticks % TimeSpan.TicksPerMillisecond);
                }
                else
                {
                    Assert.True(asked >= EntryExpiration.MaximumLifetime.Ticks);
                }
            }
        }, iter: 20_000);
}
