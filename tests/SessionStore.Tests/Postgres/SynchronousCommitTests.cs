using Microsoft.Extensions.Caching.Distributed;
using Npgsql;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>
/// <see cref="PostgresSessionCacheOptions.SynchronousCommit"/>: a trigger on the session table records the
/// <c>synchronous_commit</c> in force inside each of the cache's writes, and a one-connection pool shows that the
/// connection the cache used goes back to the application with the server's setting.
/// </summary>
public sealed class SynchronousCommitTests(PostgresServer server)
{
    private static readonly DistributedCacheEntryOptions Sliding100 = new() { SlidingExpiration = TimeSpan.FromSeconds(100) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(PostgresSynchronousCommit.Off, false, "off")]
    [InlineData(PostgresSynchronousCommit.Off, true, "off")]
    [InlineData(PostgresSynchronousCommit.ServerSetting, false, "on")]
    public async Task Every_session_write_runs_with_the_configured_setting_and_the_pooled_connection_keeps_the_servers(
        PostgresSynchronousCommit mode, bool partitioned, string expected)
    {
        // The throw-away server commits asynchronously; the connection's own setting makes "on" the default here.
        await using var onePooledConnection = NpgsqlDataSource.Create(server.ConnectionString + ";Maximum Pool Size=1;Options=-c synchronous_commit=on");
        using var table = new PostgresTestTable(server, o =>
        {
            o.DataSource = onePooledConnection;
            o.SynchronousCommit = mode;
            o.Partitioning = partitioned ? new PostgresPartitioningOptions { Interval = TimeSpan.FromMinutes(1), Horizon = TimeSpan.FromMinutes(10) } : null;
        });
        var key = Guid.NewGuid().ToString();
        await table.Cache.RefreshAsync("create the table", Token);
        var log = await RecordSettingOfEachWriteAsync(table);

        await table.Cache.SetAsync(key, [1, 2], Sliding100, Token);
        table.Cache.Set(key, [1, 2, 3], Sliding100);
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '80 seconds'");
        await table.Cache.GetAsync(key, Token); // due: touches
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '80 seconds'");
        await table.Cache.RefreshAsync(key, Token); // elided: the Get just touched
        await table.ScalarAsync<object>("UPDATE {table} SET expire = now() + interval '80 seconds'");
        table.Cache.Get(key);
        await table.Cache.RemoveAsync(key, Token);

        var settings = await LoggedSettingsAsync(log);
        // A touch that moves a row to a later partition is logged as a delete and an insert there.
        Assert.Equal(partitioned ? ["insert", "delete"] : ["insert", "update", "update", "update", "delete"], partitioned ? [settings[0].Operation, settings[^1].Operation] : settings.Select(s => s.Operation));
        Assert.InRange(settings.Count, 5, 8);
        Assert.All(settings, s => Assert.Equal(expected, s.Setting));

        await using var command = onePooledConnection.CreateCommand("SELECT current_setting('synchronous_commit')");
        Assert.Equal("on", await command.ExecuteScalarAsync(Token));
    }

    [Fact]
    public async Task On_the_caches_own_connections_the_setting_rides_on_the_connection_and_other_tools_keep_the_servers()
    {
        using var table = new PostgresTestTable(server, o =>
        {
            o.ConnectionString = server.ConnectionString + ";Options=-c synchronous_commit=on";
            o.SynchronousCommit = PostgresSynchronousCommit.Off;
        });
        var key = Guid.NewGuid().ToString();
        await table.Cache.RefreshAsync("create the table", Token);
        var log = await RecordSettingOfEachWriteAsync(table);

        await table.Cache.SetAsync(key, [1, 2], Sliding100, Token);
        table.Cache.Set(key, [1, 2, 3], Sliding100);
        await table.Cache.RemoveAsync(key, Token);

        Assert.Equal(["off", "off", "off"], (await LoggedSettingsAsync(log)).Select(s => s.Setting));

        // The data source the cleaner and the migration tools share keeps the connection string's setting.
        await using var command = table.Cache.DataSource.CreateCommand("SELECT current_setting('synchronous_commit')");
        Assert.Equal("on", await command.ExecuteScalarAsync(Token));
    }

    [Fact]
    public void An_undefined_value_is_refused_with_the_allowed_ones()
    {
        var options = new PostgresSessionCacheOptions { ConnectionString = "Host=x", SynchronousCommit = (PostgresSynchronousCommit)7 };

        var failure = Assert.Single(options.Validate());

        Assert.Contains("SynchronousCommit is 7", failure, StringComparison.Ordinal);
        Assert.Contains("ServerSetting, Off", failure, StringComparison.Ordinal);
    }

    /// <summary>A log table and a row trigger on the session table (on a partitioned one, cloned to each partition) that fills it.</summary>
    private static async Task<string> RecordSettingOfEachWriteAsync(PostgresTestTable table)
    {
        var log = $"\"public\".\"{table.Options.TableName}_log\"";
        var function = $"\"public\".\"{table.Options.TableName}_record\"";
        await table.ScalarAsync<object>($"""
            CREATE TABLE {log} (at bigserial, operation text, setting text);
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                -- The test's own expiry changes leave updated_at alone; every write of the cache sets it.
                IF TG_OP = 'UPDATE' AND OLD.updated_at = NEW.updated_at THEN
                    RETURN NULL;
                END IF;

                INSERT INTO {log} (operation, setting) VALUES (lower(TG_OP), current_setting('synchronous_commit'));
                RETURN NULL;
            END $$;
            CREATE TRIGGER record_setting AFTER INSERT OR UPDATE OR DELETE ON {"{table}"} FOR EACH ROW EXECUTE FUNCTION {function}();
            """);
        return log;
    }

    private async Task<List<(string Operation, string Setting)>> LoggedSettingsAsync(string log)
    {
        await using var command = server.DataSource.CreateCommand($"SELECT operation, setting FROM {log} ORDER BY at");
        await using var reader = await command.ExecuteReaderAsync(Token);
        var rows = new List<(string, string)>();
        while (await reader.ReadAsync(Token))
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }
}
