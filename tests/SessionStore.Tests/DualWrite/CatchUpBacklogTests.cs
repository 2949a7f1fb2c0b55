using SessionStore.DualWrite.Internal;

namespace SessionStore.Tests.DualWrite;

public sealed class CatchUpBacklogTests
{
    [Fact]
    public void Keys_past_the_capacity_are_counted_not_remembered_and_a_remembered_key_is_never_counted()
    {
        var backlog = new CatchUpBacklog(capacity: 2);

        Assert.True(backlog.Add("a"));
        Assert.True(backlog.Add("b"));
        Assert.True(backlog.Add("a"));
        Assert.False(backlog.Add("c"));
        Assert.False(backlog.Add("d"));

        Assert.Equal(2, backlog.Count);
        Assert.Equal(2, backlog.Overflow);
    }

    [Fact]
    public void A_key_missed_again_while_it_was_being_copied_stays_in_the_backlog()
    {
        var backlog = new CatchUpBacklog(capacity: 10);
        backlog.Add("a");
        backlog.Add("b");
        var snapshot = backlog.Snapshot();

        backlog.Add("a");
        foreach (var entry in snapshot)
        {
            backlog.Done(entry);
        }

        Assert.Equal("a", Assert.Single(backlog.Snapshot()).Key);
    }

    [Fact]
    public void A_missed_remove_is_kept_by_a_missed_refresh_and_replaced_by_a_missed_write()
    {
        var backlog = new CatchUpBacklog(capacity: 10);
        backlog.Add("a", removed: true);
        backlog.Add("b", removed: true);
        backlog.Add("b", keepsRemoval: true); // another tab's request ending: nothing new to copy, the removal stands
        backlog.Add("c", removed: true);
        backlog.Add("c");                // a new write of the key: its copy, not the removal, is what is missed
        backlog.Add("d", keepsRemoval: true);

        Assert.Equal([("a", true), ("b", true), ("c", false), ("d", false)], backlog.Snapshot().Select(e => (e.Key, e.Value.Removed)).Order());
    }
}
