using CsCheck;
using SessionStore.Internal;

namespace SessionStore.Tests.Internal;

public sealed class ExpiryStateTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(20);

    [Fact]
    public void A_refresh_right_after_an_untouched_read_is_a_no_op()
    {
        var state = new ExpiryState(Remaining: Window - TimeSpan.FromSeconds(30), Sliding: Window, AbsoluteRemaining: null);
        Assert.True(state.RefreshIsNoOp(TimeSpan.FromMilliseconds(5), 0.1));
    }

    [Fact]
    public void A_refresh_is_due_once_the_expiry_has_fallen_more_than_the_threshold_behind()
    {
        var state = new ExpiryState(Window, Window, null);
        Assert.True(state.RefreshIsNoOp(TimeSpan.FromMinutes(2), 0.1));
        Assert.False(state.RefreshIsNoOp(TimeSpan.FromMinutes(2.01), 0.1));
    }

    [Fact]
    public void With_a_zero_threshold_every_later_refresh_is_due() =>
        Assert.False(new ExpiryState(Window, Window, null).RefreshIsNoOp(TimeSpan.FromTicks(1), 0));

    [Fact]
    public void Entries_without_sliding_or_already_expired_never_need_a_refresh()
    {
        Assert.True(new ExpiryState(TimeSpan.FromMinutes(5), null, TimeSpan.FromMinutes(5)).RefreshIsNoOp(TimeSpan.FromMinutes(1), 0));
        Assert.True(new ExpiryState(null, null, null).RefreshIsNoOp(TimeSpan.FromDays(1), 0));
        Assert.True(new ExpiryState(TimeSpan.FromSeconds(10), Window, null).RefreshIsNoOp(TimeSpan.FromSeconds(10), 0));
    }

    [Fact]
    public void An_entry_at_its_absolute_cap_needs_no_refresh()
    {
        var capped = new ExpiryState(TimeSpan.FromMinutes(3), Window, AbsoluteRemaining: TimeSpan.FromMinutes(3));
        Assert.True(capped.RefreshIsNoOp(TimeSpan.FromMinutes(1), 0));
    }

    [Fact]
    public void The_decision_matches_what_the_database_would_do() =>
        Gen.Select(Gen.Int[1, 3600], Gen.Int[0, 3600], Gen.Int[0, 7200], Gen.Double[0, 0.5], Gen.Int[-1, 7200])
            .Sample((window, remainingSeconds, elapsedSeconds, threshold, capSeconds) =>
            {
                var sliding = TimeSpan.FromSeconds(window);
                var remaining = TimeSpan.FromSeconds(Math.Min(remainingSeconds, window));
                var cap = capSeconds >= 0 ? TimeSpan.FromSeconds(Math.Max(capSeconds, remaining.TotalSeconds)) : (TimeSpan?)null;
                var elapsed = TimeSpan.FromSeconds(elapsedSeconds);

                // The SQL: touch when alive and least(now + sliding, absolute) - expire > sliding * threshold.
                var newExpiry = elapsed + sliding;
                if (cap is { } a && a < newExpiry)
                {
                    newExpiry = a;
                }

                var databaseWrites = elapsed < remaining && newExpiry - remaining > sliding * threshold;
                Assert.Equal(!databaseWrites, new ExpiryState(remaining, sliding, cap).RefreshIsNoOp(elapsed, threshold));
            });

    [Fact]
    public void A_copy_gets_the_sliding_window_under_the_remaining_absolute_cap()
    {
        var options = new ExpiryState(TimeSpan.FromMinutes(15), Window, TimeSpan.FromHours(2)).ToEntryOptions()!;
        Assert.Equal(Window, options.SlidingExpiration);
        Assert.Equal(TimeSpan.FromHours(2), options.AbsoluteExpirationRelativeToNow);
    }

    [Fact]
    public void A_copy_of_an_entry_without_sliding_gets_its_remaining_time()
    {
        var options = new ExpiryState(TimeSpan.FromMinutes(7), null, TimeSpan.FromMinutes(7)).ToEntryOptions()!;
        Assert.Null(options.SlidingExpiration);
        Assert.Equal(TimeSpan.FromMinutes(7), options.AbsoluteExpirationRelativeToNow);
        var forever = new ExpiryState(null, null, null).ToEntryOptions()!;
        Assert.Null(forever.AbsoluteExpirationRelativeToNow);
        Assert.Null(forever.SlidingExpiration);
    }

    [Fact]
    public void An_entry_with_no_time_left_is_not_copied()
    {
        Assert.Null(new ExpiryState(TimeSpan.Zero, Window, null).ToEntryOptions());
        Assert.Null(new ExpiryState(TimeSpan.FromSeconds(1), Window, TimeSpan.Zero).ToEntryOptions());
    }
}
