using System.Text;
using CsCheck;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using SessionStore.Postgres;
using SessionStore.Tests.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

public sealed class PostgresSessionCacheTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string NewKey() => Guid.NewGuid().ToString();

    [Fact]
    public async Task A_first_call_leaves_an_index_dropped_by_hand_to_the_migrator_and_says_so_while_a_long_write_is_open()
    {
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        var index = $"{table.Options.TableName}_user_id_idx";
        await table.ScalarAsync<object>($"DROP INDEX \"{table.Options.SchemaName}\".\"{index}\"");

        // A long write transaction holds the table while another instance starts. Building the index again would wait
        // for it and hold every later write behind that wait: the first call would time out, and so would the next.
        await using var writing = await HeldTransaction.BeginAsync(server.DataSource, $"LOCK TABLE {table.QualifiedName} IN ROW EXCLUSIVE MODE");

        var logger = new FakeLogger<PostgresSessionCache>();
        using var starting = table.AnotherInstance(logger, operationTimeout: TimeSpan.FromSeconds(2));
        var key = Guid.NewGuid().ToString();
        await starting.SetAsync(key, [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        Assert.Equal([1], await starting.GetAsync(key, Token));
        await writing.DisposeAsync();

        var warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.PostgresRelationsMissing);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(index, warning.Message, StringComparison.Ordinal);
        Assert.Contains("sessionstore migrate", warning.Message, StringComparison.Ordinal);
        Assert.False(await table.ScalarAsync<bool>("SELECT to_regclass($1) IS NOT NULL", $"\"{index}\""));

        Assert.Equal([1], await new PostgresSchemaMigrator(server.DataSource, table.Options).MigrateAsync(Token));
        Assert.True(await table.ScalarAsync<bool>("SELECT to_regclass($1) IS NOT NULL", $"\"{index}\""));
    }

    [Fact]
    public async Task Sliding_expiry_stays_sliding_when_the_absolute_cap_is_hours_away()
    {
        // Microsoft's PostgreSQL cache jumps to the absolute expiry when the sliding window is 60 s or more.
        using var table = new PostgresTestTable(server, o => o.TouchThreshold = 0);
        var key = NewKey();
        var options = new DistributedCacheEntryOptions
        {
            SlidingExpiration = TimeSpan.FromSeconds(90),
            AbsoluteExpiration = DateTimeOffset.UtcNow.AddHours(3),
        };

        await table.Cache.SetAsync(key, [1], options, Token);
        Assert.InRange(await SecondsToExpiry(table, key), 88, 90);

        await table.Cache.GetAsync(key, Token);
        await table.Cache.RefreshAsync(key, Token);
        Assert.InRange(await SecondsToExpiry(table, key), 88, 90);
    }

    [Fact]
    public async Task Each_kind_of_expiry_sets_the_row_expiry_as_RedisCache_sets_the_ttl()
    {
        using var table = new PostgresTestTable(server);
        var absolute = DateTimeOffset.UtcNow.AddHours(2);
        var cases = new (DistributedCacheEntryOptions Options, double Min, double Max)[]
        {
            (new() { AbsoluteExpiration = absolute }, 7190, 7200),
            (new() { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(30) }, 1790, 1800),
            (new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, 1190, 1200),
            (new() { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(5) }, 290, 300),
            (new() { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpiration = absolute, AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(7) }, 410, 420),
        };
        foreach (var (options, min, max) in cases)
        {
            var key = NewKey();
            await table.Cache.SetAsync(key, [1], options, Token);
            Assert.InRange(await SecondsToExpiry(table, key), min, max);
        }

        var forever = NewKey();
        await table.Cache.SetAsync(forever, [1], new DistributedCacheEntryOptions(), Token);
        Assert.Equal("infinity", await table.ScalarAsync<string>("SELECT expire::text FROM {table} WHERE sid = $1", forever));
        await table.Cache.RefreshAsync(forever, Token);
        Assert.Equal([1], await table.Cache.GetAsync(forever, Token));
    }

    [Fact]
    public async Task An_expired_row_is_never_returned_even_before_cleanup()
    {
        using var table = new PostgresTestTable(server);
        var key = NewKey();
        await table.Cache.SetAsync(key, [1], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(5) }, Token);
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() - interval '1 second'");

        Assert.Null(await table.Cache.GetAsync(key, Token));
        await table.Cache.RefreshAsync(key, Token);
        Assert.Null(table.Cache.Get(key));
        Assert.Equal(1L, await table.ScalarAsync<long>("SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task A_read_extends_a_sliding_expiry_only_once_it_has_fallen_a_threshold_behind()
    {
        using var table = new PostgresTestTable(server);
        var key = NewKey();
        await table.Cache.SetAsync(key, [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(100) }, Token);

        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '95 seconds'");
        await table.Cache.GetAsync(key, Token);
        Assert.InRange(await SecondsToExpiry(table, key), 93, 95);

        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '85 seconds'");
        await table.Cache.GetAsync(key, Token);
        Assert.InRange(await SecondsToExpiry(table, key), 98, 100);
    }

    [Fact]
    public async Task A_threshold_of_zero_touches_on_every_read()
    {
        using var table = new PostgresTestTable(server, o => o.TouchThreshold = 0);
        var key = NewKey();
        await table.Cache.SetAsync(key, [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(100) }, Token);
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '99 seconds'");

        await table.Cache.GetAsync(key, Token);

        Assert.InRange(await SecondsToExpiry(table, key), 99.5, 100);
    }

    [Fact]
    public async Task The_user_id_is_taken_from_the_configured_session_key()
    {
        using var table = new PostgresTestTable(server, o => o.UserIdSessionKey = "UserId");
        var signedIn = NewKey();
        var anonymous = NewKey();
        var session = new TestSessionPayload(Guid.NewGuid().ToByteArray(), [new("UserId", "ada@example.com"u8.ToArray()), new("Cart", "3 items"u8.ToArray())]);

        await table.Cache.SetAsync(signedIn, session.ToBytes(), new DistributedCacheEntryOptions(), Token);
        await table.Cache.SetAsync(anonymous, new TestSessionPayload(new byte[16], []).ToBytes(), new DistributedCacheEntryOptions(), Token);

        Assert.Equal("ada@example.com", await table.ScalarAsync<string>("SELECT user_id FROM {table} WHERE sid = $1", signedIn));
        Assert.Null(await table.ScalarAsync<string>("SELECT user_id FROM {table} WHERE sid = $1", anonymous));
        Assert.Equal("3 items", await table.ScalarAsync<string>("SELECT sess->'values'->>'Cart' FROM {table} WHERE sid = $1", signedIn));
    }

    [Fact]
    public async Task A_session_whose_user_id_holds_a_nul_is_stored_without_a_user_and_the_connection_stays_sound()
    {
        // One connection, so that a write after the bad one runs on the connection it used. Sent as a parameter, the
        // NUL failed the write (22021), and the second time the prepared batch left the connection out of step: the
        // next user's write failed with Npgsql's "unexpected backend message".
        using var table = new PostgresTestTable(server, o => { o.UserIdSessionKey = "UserId"; o.ConnectionString += ";Maximum Pool Size=1"; });
        var entry = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) };
        for (var i = 0; i < 3; i++)
        {
            var odd = NewKey();
            var good = NewKey();
            await table.Cache.SetAsync(odd, new TestSessionPayload(new byte[16], [new("UserId", "evil\0user"u8.ToArray())]).ToBytes(), entry, Token);
            await table.Cache.SetAsync(good, new TestSessionPayload(new byte[16], [new("UserId", "bob"u8.ToArray())]).ToBytes(), entry, Token);

            Assert.NotNull(await table.Cache.GetAsync(odd, Token));
            Assert.Null(await table.ScalarAsync<string>("SELECT user_id FROM {table} WHERE sid = $1", odd));
            Assert.Equal("bob", await table.ScalarAsync<string>("SELECT user_id FROM {table} WHERE sid = $1", good));
        }

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => table.Cache.RevokeUserSessionsAsync("evil\0user", Token));
        Assert.Contains("cannot contain U+0000", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logging_out_a_user_everywhere_deletes_that_users_sessions_only()
    {
        using var table = new PostgresTestTable(server, o => o.UserIdSessionKey = "UserId");
        var ada = new[] { NewKey(), NewKey() };
        var bob = NewKey();
        foreach (var key in ada)
        {
            await table.Cache.SetAsync(key, new TestSessionPayload(new byte[16], [new("UserId", "ada"u8.ToArray())]).ToBytes(), new DistributedCacheEntryOptions(), Token);
        }

        await table.Cache.SetAsync(bob, new TestSessionPayload(new byte[16], [new("UserId", "bob"u8.ToArray())]).ToBytes(), new DistributedCacheEntryOptions(), Token);

        Assert.Equal(2, await table.Cache.RevokeUserSessionsAsync("ada", Token));

        Assert.Null(await table.Cache.GetAsync(ada[0], Token));
        Assert.Null(await table.Cache.GetAsync(ada[1], Token));
        Assert.NotNull(await table.Cache.GetAsync(bob, Token));
    }

    [Fact]
    public async Task Logging_out_a_user_everywhere_deletes_their_expired_rows_too_but_counts_only_live_sessions()
    {
        // Rows past their expiry wait for the cleanup; "log out everywhere" counted them as sessions it ended.
        using var table = new PostgresTestTable(server, o => o.UserIdSessionKey = "UserId");
        var live = NewKey();
        var expired = new[] { NewKey(), NewKey() };
        var bob = NewKey();
        foreach (var key in expired.Prepend(live))
        {
            await table.Cache.SetAsync(key, new TestSessionPayload(new byte[16], [new("UserId", "ada"u8.ToArray())]).ToBytes(), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        }

        await table.Cache.SetAsync(bob, new TestSessionPayload(new byte[16], [new("UserId", "bob"u8.ToArray())]).ToBytes(), new DistributedCacheEntryOptions(), Token);
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() - interval '1 minute' WHERE sid = ANY($1)", (object)expired);

        Assert.Equal(1, await table.Cache.RevokeUserSessionsAsync("ada", Token));

        Assert.Equal(0L, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE user_id = 'ada'"));
        Assert.NotNull(await table.Cache.GetAsync(bob, Token));
        Assert.Equal(0, await table.Cache.RevokeUserSessionsAsync("ada", Token));
    }

    [Fact]
    public async Task Random_values_and_sessions_survive_a_trip_through_jsonb()
    {
        using var table = new PostgresTestTable(server);
        await Gen.Byte.Array[0, 3000].SampleAsync(async bytes =>
        {
            var key = NewKey();
            await table.Cache.SetAsync(key, bytes, new DistributedCacheEntryOptions(), Token);
            Assert.Equal(bytes, await table.Cache.GetAsync(key, Token));
        }, iter: 200);
        await JsonPayloadCodecTests.Session.SampleAsync(async session =>
        {
            var key = NewKey();
            await table.Cache.SetAsync(key, session.ToBytes(), new DistributedCacheEntryOptions(), Token);
            JsonPayloadCodecTests.AssertSameSession(session, (await table.Cache.GetAsync(key, Token))!);
        }, iter: 200);
    }

    [Fact]
    public async Task A_row_that_cannot_be_decoded_is_a_miss_and_a_warning_without_the_key()
    {
        var logger = new FakeLogger<PostgresSessionCache>();
        using var table = new PostgresTestTable(server, logger: logger);
        var key = NewKey();
        await table.Cache.SetAsync(key, [1], new DistributedCacheEntryOptions(), Token);
        await table.ScalarAsync<object>("UPDATE {table} SET sess = '{\"unexpected\": true}'");

        Assert.Null(await table.Cache.GetAsync(key, Token));

        var record = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.PostgresUndecodableRow);
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.DoesNotContain(key, record.Message, StringComparison.Ordinal);
        Assert.Contains(SessionStore.Internal.KeyHash.Of(key), record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_table_is_an_error_that_names_it_and_says_how_to_create_it()
    {
        using var table = new PostgresTestTable(server, o => o.CreateTableIfMissing = false);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => table.Cache.GetAsync(NewKey(), Token));

        Assert.Contains(table.QualifiedName, error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(PostgresSchemaMigrator), error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(PostgresSessionCacheOptions.CreateTableIfMissing), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_tables_in_one_schema_with_awkward_names_keep_their_entries_apart()
    {
        const string schema = "Session \"Store\" Tests";
        using var first = new PostgresTestTable(server, o => { o.SchemaName = schema; o.TableName = "Sessions; DROP TABLE x"; });
        using var second = new PostgresTestTable(server, o => { o.SchemaName = schema; o.TableName = "sessions-2"; });
        var key = NewKey();

        await first.Cache.SetAsync(key, [1], new DistributedCacheEntryOptions(), Token);
        await second.Cache.SetAsync(key, [2], new DistributedCacheEntryOptions(), Token);

        Assert.Equal([1], await first.Cache.GetAsync(key, Token));
        Assert.Equal([2], await second.Cache.GetAsync(key, Token));
        Assert.Equal(1L, await first.ScalarAsync<long>("SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task A_key_of_the_column_length_is_stored()
    {
        using var table = new PostgresTestTable(server);
        var key = new string('k', PostgresSessionCache.MaximumKeyLength - 1) + "é";
        await table.Cache.SetAsync(key, [7], new DistributedCacheEntryOptions(), Token);
        Assert.Equal([7], await table.Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_session_written_by_one_instance_is_read_and_refreshed_by_another()
    {
        using var first = new PostgresTestTable(server);
        using var second = new PostgresSessionCache(Options.Create(new PostgresSessionCacheOptions
        {
            ConnectionString = server.ConnectionString,
            TableName = first.Options.TableName,
        }));
        var key = NewKey();
        var value = Encoding.UTF8.GetBytes("shared");

        await first.Cache.SetAsync(key, value, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);

        Assert.Equal(value, await second.GetAsync(key, Token));
        await second.RemoveAsync(key, Token);
        Assert.Null(await first.Cache.GetAsync(key, Token));
    }

    private static Task<double> SecondsToExpiry(PostgresTestTable table, string key) =>
        table.ScalarAsync<double>("SELECT extract(epoch FROM expire - now())::float8 FROM {table} WHERE sid = $1", key);
}
