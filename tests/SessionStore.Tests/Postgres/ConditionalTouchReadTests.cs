using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>
/// A read is a plain primary-key select; the touch that extends a sliding expiry follows only when the read shows
/// it due (fallen more than the threshold behind). Checked for both payload formats, both table layouts and both
/// the synchronous and asynchronous Get, by the row's expiry and row version (<c>xmin</c>, which any UPDATE changes).
/// </summary>
public sealed class ConditionalTouchReadTests(PostgresServer server)
{
    private static readonly DistributedCacheEntryOptions Sliding100 = new() { SlidingExpiration = TimeSpan.FromSeconds(100) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<PostgresPayloadFormat, bool, bool> Shapes()
    {
        var data = new TheoryData<PostgresPayloadFormat, bool, bool>();
        foreach (var format in new[] { PostgresPayloadFormat.Jsonb, PostgresPayloadFormat.Bytea })
        {
            foreach (var partitioned in new[] { false, true })
            {
                foreach (var async in new[] { false, true })
                {
                    data.Add(format, partitioned, async);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_read_that_is_not_due_writes_nothing_and_returns_the_value_and_its_expiry(PostgresPayloadFormat format, bool partitioned, bool async)
    {
        using var table = Table(format, partitioned);
        var key = Guid.NewGuid().ToString();
        var value = Session(("Cart", new string('x', 2_000)));
        await table.Cache.SetAsync(key, value, Sliding100, Token);
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '95 seconds'");
        var rowVersion = await RowVersion(table, key);

        var entry = await ReadAsync(table.Cache, key, async);

        Assert.Equal(value, entry!.Value);
        Assert.InRange(entry.Expiry.Remaining!.Value.TotalSeconds, 93, 95);
        Assert.Equal(TimeSpan.FromSeconds(100), entry.Expiry.Sliding);
        Assert.Equal(await table.ScalarAsync<long>("SELECT ver FROM {table} WHERE sid = $1", key), entry.Version);
        Assert.Equal(rowVersion, await RowVersion(table, key));
        Assert.InRange(await SecondsToExpiry(table, key), 93, 95);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_read_that_is_due_touches_and_the_Refresh_after_it_is_answered_without_IO(PostgresPayloadFormat format, bool partitioned, bool async)
    {
        using var table = Table(format, partitioned);
        var key = Guid.NewGuid().ToString();
        var value = Session(("Cart", "three books"));
        await table.Cache.SetAsync(key, value, Sliding100, Token);
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '85 seconds'");
        var rowVersion = await RowVersion(table, key);

        var entry = await ReadAsync(table.Cache, key, async);

        Assert.Equal(value, entry!.Value);
        Assert.NotEqual(rowVersion, await RowVersion(table, key));
        Assert.InRange(await SecondsToExpiry(table, key), 98, 100);
        Assert.InRange(entry.Expiry.Remaining!.Value.TotalSeconds, 99.9, 100); // what the touch set, not what the select saw

        // Had the cache remembered the pre-touch expiry, this Refresh would go to the server and undo the change.
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '85 seconds'");
        if (async)
        {
            await table.Cache.RefreshAsync(key, Token);
        }
        else
        {
            table.Cache.Refresh(key);
        }

        Assert.InRange(await SecondsToExpiry(table, key), 84, 85);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_absolute_cap_bounds_the_touch_and_the_expiry_the_read_reports(bool partitioned)
    {
        using var table = Table(PostgresPayloadFormat.Jsonb, partitioned);
        var key = Guid.NewGuid().ToString();
        await table.Cache.SetAsync(key, [1, 2, 3], new DistributedCacheEntryOptions
        {
            SlidingExpiration = TimeSpan.FromSeconds(100),
            AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(90),
        }, Token);
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '50 seconds'");

        var entry = await ReadAsync(table.Cache, key, async: true);

        Assert.InRange(await SecondsToExpiry(table, key), 88, 90);
        Assert.InRange(entry!.Expiry.Remaining!.Value.TotalSeconds, 88, 90);
    }

    [Fact]
    public async Task An_absolute_only_entry_is_never_touched()
    {
        using var table = Table(PostgresPayloadFormat.Jsonb, partitioned: false);
        var key = Guid.NewGuid().ToString();
        await table.Cache.SetAsync(key, [1], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(100) }, Token);
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '10 seconds'");
        var rowVersion = await RowVersion(table, key);

        Assert.Equal([1], await table.Cache.GetAsync(key, Token));

        Assert.Equal(rowVersion, await RowVersion(table, key));
    }

    private static byte[] Session(params (string Key, string Value)[] entries) =>
        new TestSessionPayload(Guid.NewGuid().ToByteArray(), entries.Select(e => new KeyValuePair<string, byte[]>(e.Key, System.Text.Encoding.UTF8.GetBytes(e.Value))).ToList()).ToBytes();

    private PostgresTestTable Table(PostgresPayloadFormat format, bool partitioned) => new(server, o =>
    {
        o.PayloadFormat = format;
        o.Partitioning = partitioned ? new PostgresPartitioningOptions { Interval = TimeSpan.FromMinutes(1), Horizon = TimeSpan.FromMinutes(10) } : null;
    });

    private static async Task<StoredEntry?> ReadAsync(PostgresSessionCache cache, string key, bool async) =>
        await ((ISessionCacheProvider)cache).GetEntryAsync(key, async, Token);

    private static Task<string?> RowVersion(PostgresTestTable table, string key) =>
        table.ScalarAsync<string>("SELECT xmin::text FROM {table} WHERE sid = $1", key);

    private static async Task<double> SecondsToExpiry(PostgresTestTable table, string key) =>
        await table.ScalarAsync<double>("SELECT extract(epoch FROM expire - now())::float8 FROM {table} WHERE sid = $1", key);
}
