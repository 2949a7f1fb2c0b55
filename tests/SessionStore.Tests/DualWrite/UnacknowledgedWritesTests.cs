using SessionStore.DualWrite.Internal;
using SessionStore.Internal;

namespace SessionStore.Tests.DualWrite;

public sealed class UnacknowledgedWritesTests
{
    private static StoredEntry Entry(params byte[] value) => new(value, new ExpiryState(TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(20), null), Version: 1);

    [Fact]
    public void A_failed_value_is_late_only_once_the_other_store_acknowledged_a_write_of_the_key()
    {
        var writes = new UnacknowledgedWrites(capacity: 10);
        writes.Add(StoreKind.Postgres, "a", [2]);
        Assert.False(writes.IsLate(StoreKind.Postgres, "a", Entry(2))); // the same bytes may be an acknowledged write: versions decide

        writes.Acknowledged(StoreKind.Redis, "a");

        Assert.True(writes.IsLate(StoreKind.Postgres, "a", Entry(2)));
        Assert.False(writes.IsLate(StoreKind.Postgres, "a", Entry(3)));  // another write's value
        Assert.False(writes.IsLate(StoreKind.Redis, "a", Entry(2)));     // the other store's copy
        Assert.False(writes.IsLate(StoreKind.Postgres, "b", Entry(2)));
        Assert.False(writes.IsLate(StoreKind.Postgres, "a", null));
    }

    [Fact]
    public void A_write_the_store_itself_acknowledges_forgets_its_failed_values_and_a_later_failure_waits_for_its_own_supersession()
    {
        var writes = new UnacknowledgedWrites(capacity: 10);
        writes.Add(StoreKind.Redis, "a", [2]);
        writes.Acknowledged(StoreKind.Postgres, "a");
        writes.Add(StoreKind.Redis, "a", [4]); // failed after the other store's write: not superseded yet
        Assert.True(writes.IsLate(StoreKind.Redis, "a", Entry(2)));
        Assert.False(writes.IsLate(StoreKind.Redis, "a", Entry(4)));

        writes.Acknowledged(StoreKind.Redis, "a");
        writes.Acknowledged(StoreKind.Postgres, "a");
        Assert.False(writes.IsLate(StoreKind.Redis, "a", Entry(2)));
    }

    [Fact]
    public void Past_the_capacity_the_key_that_failed_first_is_forgotten()
    {
        var writes = new UnacknowledgedWrites(capacity: 2);
        writes.Add(StoreKind.Redis, "a", [1]);
        writes.Add(StoreKind.Redis, "b", [1]);
        writes.Add(StoreKind.Redis, "a", [2]); // the same key again: not a new one
        writes.Add(StoreKind.Redis, "c", [1]);
        foreach (var key in (string[])["a", "b", "c"])
        {
            writes.Acknowledged(StoreKind.Postgres, key);
        }

        Assert.True(writes.IsLate(StoreKind.Redis, "a", Entry(1)));
        Assert.True(writes.IsLate(StoreKind.Redis, "a", Entry(2)));
        Assert.False(writes.IsLate(StoreKind.Redis, "b", Entry(1)));
        Assert.True(writes.IsLate(StoreKind.Redis, "c", Entry(1)));
    }

    [Fact]
    public void With_no_capacity_nothing_is_kept_and_nothing_fails()
    {
        var writes = new UnacknowledgedWrites(capacity: 0);
        writes.Add(StoreKind.Postgres, "a", [1]);
        writes.Acknowledged(StoreKind.Redis, "a");
        Assert.False(writes.IsLate(StoreKind.Postgres, "a", Entry(1)));
    }
}
