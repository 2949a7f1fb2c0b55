using SessionStore.DualWrite.Internal;
using SessionStore.Internal;

namespace SessionStore.Tests.DualWrite;

public sealed class UnacknowledgedWritesTests
{
    private static StoredEntry Entry(params byte[] value) => new(value, new ExpiryState(TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(20), null), Version: 1);

    [Fact]
    public void Only_the_failed_value_in_its_own_store_is_recognised_until_the_store_acknowledges_a_later_write()
    {
        var writes = new UnacknowledgedWrites(capacity: 10);
        writes.Add(StoreKind.Postgres, "a", [2]);

        Assert.True(writes.IsUnacknowledged(StoreKind.Postgres, "a", Entry(2)));
        Assert.False(writes.IsUnacknowledged(StoreKind.Postgres, "a", Entry(3)));  // another write's value
        Assert.False(writes.IsUnacknowledged(StoreKind.Redis, "a", Entry(2)));     // the other store's copy
        Assert.False(writes.IsUnacknowledged(StoreKind.Postgres, "b", Entry(2)));
        Assert.False(writes.IsUnacknowledged(StoreKind.Postgres, "a", null));

        writes.Forget(StoreKind.Postgres, "a");
        Assert.False(writes.IsUnacknowledged(StoreKind.Postgres, "a", Entry(2)));
    }

    [Fact]
    public void Past_the_capacity_the_oldest_failure_is_forgotten_and_a_key_failing_again_is_the_newest()
    {
        var writes = new UnacknowledgedWrites(capacity: 2);
        writes.Add(StoreKind.Redis, "a", [1]);
        writes.Add(StoreKind.Redis, "b", [1]);
        writes.Add(StoreKind.Redis, "a", [2]);
        writes.Add(StoreKind.Redis, "c", [1]);

        Assert.False(writes.IsUnacknowledged(StoreKind.Redis, "b", Entry(1)));
        Assert.True(writes.IsUnacknowledged(StoreKind.Redis, "a", Entry(2)));
        Assert.True(writes.IsUnacknowledged(StoreKind.Redis, "c", Entry(1)));
    }
}
