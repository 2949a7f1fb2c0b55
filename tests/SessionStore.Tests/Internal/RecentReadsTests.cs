using Microsoft.Extensions.Time.Testing;
using SessionStore.Internal;

namespace SessionStore.Tests.Internal;

public sealed class RecentReadsTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(20);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_refresh_soon_after_a_read_is_skipped_once()
    {
        var reads = new RecentReads(_time, 0.1);
        reads.Record("k", new ExpiryState(Window, Window, null));
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.True(reads.RefreshIsNoOp("k"));
        Assert.False(reads.RefreshIsNoOp("k"));
    }

    [Fact]
    public void A_refresh_long_after_a_read_goes_to_the_store()
    {
        var reads = new RecentReads(_time, 0.1);
        reads.Record("k", new ExpiryState(Window, Window, null));
        _time.Advance(TimeSpan.FromMinutes(3));

        Assert.False(reads.RefreshIsNoOp("k"));
    }

    [Fact]
    public void A_forgotten_or_unknown_key_goes_to_the_store()
    {
        var reads = new RecentReads(_time, 0.1);
        reads.Record("k", new ExpiryState(Window, Window, null));
        reads.Forget("k");

        Assert.False(reads.RefreshIsNoOp("k"));
        Assert.False(reads.RefreshIsNoOp("other"));
    }

    [Fact]
    public void Growing_past_capacity_forgets_everything_rather_than_growing_without_bound()
    {
        var reads = new RecentReads(_time, 0.1, capacity: 3);
        foreach (var key in new[] { "a", "b", "c", "d" })
        {
            reads.Record(key, new ExpiryState(Window, Window, null));
        }

        Assert.False(reads.RefreshIsNoOp("a"));
        Assert.True(reads.RefreshIsNoOp("d"));
    }
}
