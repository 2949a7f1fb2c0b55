using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>The version stamp of each row, on both table layouts: what each kind of write stores and when a version-ordered write lands.</summary>
public sealed class PostgresSessionCacheVersionTests(PostgresServer server)
{
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<bool> Layouts => [false, true];

    private PostgresSessionCache NewCache(bool partitioned) => new(new PostgresSessionCacheOptions
    {
        ConnectionString = server.ConnectionString,
        TableName = PostgresServer.UniqueTableName("ver"),
        CreateTableIfMissing = true,
        Partitioning = partitioned ? new PostgresPartitioningOptions() : null,
    });

    [Theory]
    [MemberData(nameof(Layouts))]
    public async Task An_ordinary_write_stores_at_least_the_server_clock_and_always_more_than_before(bool partitioned)
    {
        using var cache = NewCache(partitioned);
        ISessionCacheProvider store = cache;
        var key = Guid.NewGuid().ToString();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

        var first = await store.SetAsync(key, new byte[] { 1 }, IdleTimeout, WriteCondition.Always, async: true, Token);
        var second = await store.SetAsync(key, new byte[] { 2 }, IdleTimeout, WriteCondition.Always, async: true, Token);
        var third = await store.SetAsync(key, new byte[] { 3 }, IdleTimeout, WriteCondition.Always, async: false, Token);

        Assert.NotNull(first);
        Assert.InRange(first.Value, before - 60_000_000, before + 60_000_000); // the same clock, within a minute
        Assert.True(second > first && third > second, $"versions {first}, {second}, {third} do not increase");
        Assert.Equal(third, (await store.GetEntryAsync(key, async: true, Token))!.Version);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public async Task A_version_ordered_write_lands_only_over_an_older_version_or_no_entry(bool partitioned)
    {
        using var cache = NewCache(partitioned);
        ISessionCacheProvider store = cache;
        var key = Guid.NewGuid().ToString();

        Assert.Equal(100, await store.SetAsync(key, new byte[] { 1 }, IdleTimeout, WriteCondition.WhenOlder(100), async: true, Token));
        Assert.Null(await store.SetAsync(key, new byte[] { 2 }, IdleTimeout, WriteCondition.WhenOlder(100), async: true, Token));
        Assert.Null(await store.SetAsync(key, new byte[] { 3 }, IdleTimeout, WriteCondition.WhenOlder(99), async: true, Token));
        Assert.Equal([1], await cache.GetAsync(key, Token));

        Assert.Equal(101, await store.SetAsync(key, new byte[] { 4 }, IdleTimeout, WriteCondition.WhenOlder(101), async: false, Token));
        var entry = await store.GetEntryAsync(key, async: true, Token);
        Assert.Equal([4], entry!.Value);
        Assert.Equal(101, entry.Version);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public async Task Copies_step_just_past_the_stored_version_and_report_refusals_as_null(bool partitioned)
    {
        using var cache = NewCache(partitioned);
        ISessionCacheProvider store = cache;
        var key = Guid.NewGuid().ToString();

        Assert.Equal(1, await store.SetAsync(key, new byte[] { 1 }, IdleTimeout, WriteCondition.WhenAbsent, async: true, Token));
        Assert.Null(await store.SetAsync(key, new byte[] { 2 }, IdleTimeout, WriteCondition.WhenAbsent, async: true, Token));
        Assert.Equal(2, await store.SetAsync(key, new byte[] { 3 }, IdleTimeout, WriteCondition.WhenUnchanged([1]), async: true, Token));
        Assert.Null(await store.SetAsync(key, new byte[] { 4 }, IdleTimeout, WriteCondition.WhenUnchanged([1]), async: true, Token));
        Assert.Equal([3], await cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task Health_names_a_missing_table_a_wrong_payload_format_and_a_missing_version_column()
    {
        var table = PostgresServer.UniqueTableName("ping");
        using var missing = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = server.ConnectionString, TableName = table });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ((ISessionCacheProvider)missing).PingAsync(Token));
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);

        await new PostgresSchemaMigrator(server.DataSource, "public", table).MigrateAsync(Token);
        using var bytea = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = server.ConnectionString, TableName = table, PayloadFormat = PostgresPayloadFormat.Bytea });
        error = await Assert.ThrowsAsync<InvalidOperationException>(() => ((ISessionCacheProvider)bytea).PingAsync(Token));
        Assert.Contains("payload format", error.Message, StringComparison.Ordinal);

        await using (var drop = server.DataSource.CreateCommand($"ALTER TABLE public.\"{table}\" DROP COLUMN ver"))
        {
            await drop.ExecuteNonQueryAsync(Token);
        }

        error = await Assert.ThrowsAsync<InvalidOperationException>(() => ((ISessionCacheProvider)missing).PingAsync(Token));
        Assert.Contains("no ver column", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_SessionStore_did_not_create_is_named_as_such_by_the_ping_and_by_a_read()
    {
        var table = PostgresServer.UniqueTableName("foreign");
        await using (var create = server.DataSource.CreateCommand($"CREATE TABLE public.\"{table}\" (id text PRIMARY KEY, value bytea, expires_at timestamptz)"))
        {
            await create.ExecuteNonQueryAsync(Token);
        }

        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = server.ConnectionString, TableName = table, CreateTableIfMissing = false });

        var ping = await Assert.ThrowsAsync<InvalidOperationException>(() => ((ISessionCacheProvider)cache).PingAsync(Token));
        var read = await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("a", Token));

        Assert.Contains($"\"{table}\" exists but is not a SessionStore session table: it has no column sid", ping.Message, StringComparison.Ordinal);
        Assert.Contains("is not a SessionStore session table", read.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ver column", read.Message, StringComparison.Ordinal);
    }
}
