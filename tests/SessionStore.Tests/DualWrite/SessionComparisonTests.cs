using CsCheck;
using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;
using SessionStore.Internal;
using SessionStore.Tests.Internal;

namespace SessionStore.Tests.DualWrite;

public sealed class SessionComparisonTests
{
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);
    private static readonly ExpiryState TwentyMinutes = new(TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(20), null);

    [Fact]
    public void Sessions_with_the_same_id_and_map_in_another_order_are_the_same()
    {
        var id = Guid.NewGuid().ToByteArray();
        var one = new TestSessionPayload(id, [new("a", [1]), new("b", [2])]).ToBytes();
        var other = new TestSessionPayload(id, [new("b", [2]), new("a", [1])]).ToBytes();

        Assert.Null(SessionComparison.Classify(new(one, TwentyMinutes), new(other, TwentyMinutes), Tolerance));
    }

    [Fact]
    public void A_changed_value_or_id_differs()
    {
        var id = Guid.NewGuid().ToByteArray();
        var one = new TestSessionPayload(id, [new("a", [1])]).ToBytes();
        var changed = new TestSessionPayload(id, [new("a", [2])]).ToBytes();
        var otherId = new TestSessionPayload(Guid.NewGuid().ToByteArray(), [new("a", [1])]).ToBytes();

        Assert.Equal(SessionMismatchKind.ValueDiffers, SessionComparison.Classify(new(one, TwentyMinutes), new(changed, TwentyMinutes), Tolerance));
        Assert.Equal(SessionMismatchKind.ValueDiffers, SessionComparison.Classify(new(one, TwentyMinutes), new(otherId, TwentyMinutes), Tolerance));
        Assert.Equal(SessionMismatchKind.ValueDiffers, SessionComparison.Classify(new([1, 2, 3], TwentyMinutes), new([1, 2], TwentyMinutes), Tolerance));
    }

    [Fact]
    public void Lifetimes_differ_only_beyond_the_tolerance()
    {
        var later = TwentyMinutes with { Remaining = TimeSpan.FromMinutes(16) };
        var muchLater = TwentyMinutes with { Remaining = TimeSpan.FromMinutes(14) };

        Assert.Null(SessionComparison.Classify(new([1], TwentyMinutes), new([1], later), Tolerance));
        Assert.Equal(SessionMismatchKind.ExpiryDiffers, SessionComparison.Classify(new([1], TwentyMinutes), new([1], muchLater), Tolerance));
        Assert.Equal(SessionMismatchKind.ExpiryDiffers, SessionComparison.Classify(new([1], TwentyMinutes), new([1], new ExpiryState(null, null, null)), Tolerance));
    }

    [Fact]
    public void Copies_with_the_same_time_left_that_expire_another_way_differ()
    {
        var twenty = TimeSpan.FromMinutes(20);
        var slidingUnderCap = new ExpiryState(TimeSpan.FromMinutes(3), twenty, TimeSpan.FromMinutes(3));
        var slidingWithoutCap = slidingUnderCap with { AbsoluteRemaining = null };
        var absolute = new ExpiryState(twenty, null, null);

        // Signed out at the 20-minute mark while in use, or living past its cap: both part after the switch.
        Assert.Equal(SessionMismatchKind.ExpiryDiffers, SessionComparison.Classify(new([1], TwentyMinutes), new([1], absolute), Tolerance));
        Assert.Equal(SessionMismatchKind.ExpiryDiffers, SessionComparison.Classify(new([1], absolute), new([1], TwentyMinutes), Tolerance));
        Assert.Equal(SessionMismatchKind.ExpiryDiffers, SessionComparison.Classify(new([1], slidingUnderCap), new([1], slidingWithoutCap), Tolerance));
        Assert.Equal(SessionMismatchKind.ExpiryDiffers, SessionComparison.Classify(new([1], TwentyMinutes), new([1], TwentyMinutes with { Sliding = TimeSpan.FromHours(1) }), Tolerance));
        Assert.Null(SessionComparison.Classify(new([1], slidingUnderCap), new([1], slidingUnderCap with { AbsoluteRemaining = TimeSpan.FromMinutes(4) }), Tolerance));
        Assert.Null(SessionComparison.Classify(new([1], absolute), new([1], absolute with { AbsoluteRemaining = twenty }), Tolerance));
    }

    [Fact]
    public void What_a_copy_cannot_keep_and_the_clocks_do_not_make_a_difference()
    {
        var twenty = TimeSpan.FromMinutes(20);
        var capped = new ExpiryState(twenty, twenty, TimeSpan.FromHours(8));

        // Each store keeps a cap on another clock: a skew beyond the tolerance is no mismatch.
        Assert.Null(SessionComparison.Classify(new([1], capped), new([1], capped with { AbsoluteRemaining = TimeSpan.FromHours(8.5) }), Tolerance));
        // A cap of a century or more means none, as writes store it.
        Assert.Null(SessionComparison.Classify(new([1], TwentyMinutes with { AbsoluteRemaining = TimeSpan.FromDays(3_000_000) }), new([1], TwentyMinutes), Tolerance));
        // A window of zero or less cannot slide: its copy lives out the time left, without one.
        var absolute = new ExpiryState(TimeSpan.FromMinutes(10), null, null);
        Assert.Null(SessionComparison.Classify(new([1], absolute with { Sliding = TimeSpan.Zero }), new([1], absolute), Tolerance));
        Assert.Null(SessionComparison.Classify(new([1], absolute with { Sliding = TimeSpan.FromSeconds(-1) }), new([1], absolute), Tolerance));
    }

    [Fact]
    public void A_fresh_window_copy_is_no_mismatch_only_under_its_sources_cap()
    {
        var source = new ExpiryState(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(40));
        var freshCopy = source with { Remaining = TimeSpan.FromMinutes(20) };

        Assert.Null(SessionStore.Migration.Internal.CopyComparison.Classify(new([1], source), new([1], freshCopy), Tolerance));
        Assert.Equal(SessionMismatchKind.ExpiryDiffers, SessionStore.Migration.Internal.CopyComparison.Classify(new([1], source), new([1], freshCopy with { AbsoluteRemaining = null }), Tolerance));
    }

    [Fact]
    public void A_fresh_window_copy_of_a_source_near_its_cap_outlives_what_the_sources_next_request_would_give()
    {
        // 3 minutes from its cap, the source's next request gives it 3 minutes, not the window: a copy with 20 kept
        // a signed-in user 17 minutes past the cap after the switch (days, with the copy's cap days later).
        var source = new ExpiryState(TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(3));
        var freshCopy = new ExpiryState(TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(20), TimeSpan.FromDays(10));

        Assert.Equal(SessionMismatchKind.ExpiryDiffers, SessionStore.Migration.Internal.CopyComparison.Classify(new([1], source), new([1], freshCopy), Tolerance));
        Assert.Null(SessionStore.Migration.Internal.CopyComparison.Classify(new([1], source), new([1], freshCopy with { Remaining = TimeSpan.FromMinutes(3) }), Tolerance));
    }

    [Fact]
    public void A_missing_secondary_copy_is_its_own_kind() =>
        Assert.Equal(SessionMismatchKind.MissingInSecondary, SessionComparison.Classify(new([1], TwentyMinutes), null, Tolerance));

    [Fact]
    public void A_session_equals_itself_in_any_entry_order_and_differs_after_any_change_to_an_entry() =>
        Gen.Select(JsonPayloadCodecTests.Session, Gen.Int, Gen.Int).Sample((session, seed, pick) =>
        {
            var random = new Random(seed);
            var shuffled = session with { Entries = session.Entries.OrderBy(_ => random.Next()).ToList() };
            Assert.True(SessionComparison.SameValue(session.ToBytes(), shuffled.ToBytes()));
            if (session.Entries.Count == 0)
            {
                return;
            }

            // Longer, or the same length with one byte flipped, in a value or in a key.
            var index = (int)((uint)pick % (uint)session.Entries.Count);
            var (key, value) = session.Entries[index];
            foreach (var entry in new KeyValuePair<string, byte[]>[] { new(key, [.. value, 0]), new(key, Flipped(value)), new(key + "\u0001", value) })
            {
                var changed = session.Entries.ToList();
                changed[index] = entry;
                if (!session.Entries.Any(e => e.Key == entry.Key && e.Value.SequenceEqual(entry.Value)))
                {
                    Assert.False(SessionComparison.SameValue(session.ToBytes(), (session with { Entries = changed }).ToBytes()));
                }
            }
        });

    private static byte[] Flipped(byte[] value) => value.Length == 0 ? [1] : [(byte)(value[0] ^ 0xFF), .. value.AsSpan(1)];
}
