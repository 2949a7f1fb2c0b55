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
    public void A_key_whose_slot_another_read_took_is_forgotten_and_the_table_never_grows()
    {
        var reads = new RecentReads(_time, 0.1, capacity: 1);
        foreach (var key in new[] { "a", "b", "c", "d" })
        {
            reads.Record(key, new ExpiryState(Window, Window, null));
        }

        Assert.False(reads.RefreshIsNoOp("a"));
        Assert.True(reads.RefreshIsNoOp("d"));
    }

    [Fact]
    public void Keys_in_flight_together_keep_their_stamps()
    {
        var reads = new RecentReads(_time, 0.1);
        var keys = Enumerable.Range(0, 64).Select(i => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in keys)
        {
            reads.Record(key, new ExpiryState(Window, Window, null));
        }

        // 64 keys in 4,096 slots: a shared slot is possible but rare, and only costs that key a round trip.
        Assert.True(keys.Count(reads.RefreshIsNoOp) >= 60);
    }

    [Fact]
    public void Concurrent_reads_of_distinct_keys_never_answer_for_the_wrong_key()
    {
        var reads = new RecentReads(_time, 0.1, capacity: 8);
        var due = new ExpiryState(Window - TimeSpan.FromMinutes(5), Window, null);
        var fresh = new ExpiryState(Window, Window, null);
        Parallel.For(0, 20_000, i =>
        {
            // Even keys are recorded as due for their touch: their refresh must never be skipped, whatever shares their slot.
            var key = (i % 50).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var even = i % 50 % 2 == 0;
            reads.Record(key, even ? due : fresh);
            if (even)
            {
                Assert.False(reads.RefreshIsNoOp(key));
            }
        });
    }
}
