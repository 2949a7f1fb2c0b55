using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>Schema version 5: <c>sess</c> is kept in the row (STORAGE MAIN), on a plain table and on every partition of a partitioned one.</summary>
public sealed class SessionStorageSchemaTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_session_column_is_stored_in_the_row_on_the_table_and_each_partition(bool partitioned)
    {
        using var table = new PostgresTestTable(server, o => o.Partitioning = partitioned
            ? new PostgresPartitioningOptions { Interval = TimeSpan.FromMinutes(1), Horizon = TimeSpan.FromMinutes(5) }
            : null);
        await table.Cache.SetAsync(Guid.NewGuid().ToString(), RandomBytes(3_000), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(2) }, Token);

        var storages = await table.ScalarAsync<string>("""
            SELECT string_agg(DISTINCT a.attstorage::text, ',')
            FROM pg_attribute a
            WHERE a.attname = 'sess'
              AND a.attrelid IN (SELECT '{table}'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = '{table}'::regclass)
            """);
        var relations = await table.ScalarAsync<long>("SELECT 1 + count(*) FROM pg_inherits WHERE inhparent = '{table}'::regclass");

        Assert.Equal("m", storages);
        Assert.True(!partitioned || relations > 3, $"{relations} relations");
    }

    [Fact]
    public async Task A_session_of_3_KB_that_does_not_compress_stays_in_the_row()
    {
        using var table = new PostgresTestTable(server, o => o.PayloadFormat = PostgresPayloadFormat.Bytea);
        var key = Guid.NewGuid().ToString();
        var value = RandomBytes(3_000);
        await table.Cache.SetAsync(key, value, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(2) }, Token);

        // Out of line, the row would hold an 18-byte TOAST pointer instead of the value.
        var inRow = await table.ScalarAsync<int>("SELECT pg_column_size(sess) FROM {table} WHERE sid = $1", key);

        Assert.InRange(inRow, 3_000, 3_010);
        Assert.Equal(value, await table.Cache.GetAsync(key, Token));
    }

    [Fact]
    public void The_script_alters_the_given_table_only()
    {
        var script = new PostgresSchemaMigrator(server.DataSource, "My\"Schema", "Sessions").GetScript();

        Assert.Contains("ALTER TABLE \"My\"\"Schema\".\"Sessions\" ALTER COLUMN sess SET STORAGE MAIN;", script, StringComparison.Ordinal);
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
