using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

public sealed class PostgresPayloadFormatTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_bytea_format_stores_the_value_itself_and_still_records_the_user()
    {
        using var table = new PostgresTestTable(server, o => { o.PayloadFormat = PostgresPayloadFormat.Bytea; o.UserIdSessionKey = "UserId"; });
        var key = Guid.NewGuid().ToString();
        var session = new TestSessionPayload(Guid.NewGuid().ToByteArray(), [new("UserId", "ada"u8.ToArray())]).ToBytes();

        await table.Cache.SetAsync(key, session, new DistributedCacheEntryOptions(), Token);

        Assert.Equal("bytea", await table.ScalarAsync<string>("SELECT pg_typeof(sess)::text FROM {table}"));
        Assert.Equal(session, await table.ScalarAsync<byte[]>("SELECT sess FROM {table} WHERE sid = $1", key));
        Assert.Equal("ada", await table.ScalarAsync<string>("SELECT user_id FROM {table} WHERE sid = $1", key));
        Assert.Equal(session, await table.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_cache_whose_format_does_not_match_the_table_says_so_on_read_and_on_write()
    {
        using var jsonb = new PostgresTestTable(server);
        var key = Guid.NewGuid().ToString();
        await jsonb.Cache.SetAsync(key, [1, 2, 3], new DistributedCacheEntryOptions(), Token);
        using var bytea = new PostgresSessionCache(new PostgresSessionCacheOptions
        {
            ConnectionString = server.ConnectionString,
            TableName = jsonb.Options.TableName,
            PayloadFormat = PostgresPayloadFormat.Bytea,
        });

        var read = await Assert.ThrowsAsync<InvalidOperationException>(() => bytea.GetAsync(key, Token));
        var write = await Assert.ThrowsAsync<InvalidOperationException>(() => bytea.SetAsync(key, [4], new DistributedCacheEntryOptions(), Token));

        Assert.All(new[] { read, write }, e => Assert.Contains(nameof(PostgresSessionCacheOptions.PayloadFormat), e.Message, StringComparison.Ordinal));
        Assert.Equal([1, 2, 3], await jsonb.Cache.GetAsync(key, Token));
    }

    [Fact]
    public void The_migrator_creates_the_column_the_options_ask_for()
    {
        var options = new PostgresSessionCacheOptions { TableName = "sessions", PayloadFormat = PostgresPayloadFormat.Bytea };
        Assert.Contains("sess               bytea NOT NULL", new PostgresSchemaMigrator(server.DataSource, options).GetScript(), StringComparison.Ordinal);
        Assert.Contains("sess               jsonb NOT NULL", new PostgresSchemaMigrator(server.DataSource, "public", "sessions").GetScript(), StringComparison.Ordinal);
    }
}
