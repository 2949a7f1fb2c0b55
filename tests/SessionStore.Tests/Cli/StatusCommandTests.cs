using Npgsql;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary><c>sessionstore status</c>: the fleet table as a table, stale instances marked, exit 1 when live phases are too far apart.</summary>
public sealed class StatusCommandTests(PostgresServer postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Status_lists_instances_marks_stale_ones_and_exits_0_when_phases_are_adjacent()
    {
        var table = await CreateTableAsync();
        await InsertAsync(table, "web-1", "DualWriteRedisPrimary", TimeSpan.Zero);
        await InsertAsync(table, "web-2", "DualWritePostgresPrimary", TimeSpan.FromSeconds(3));
        await InsertAsync(table, "web-old", "RedisOnly", TimeSpan.FromMinutes(5));

        var (exitCode, output) = await CliRunner.RunAsync("status", "--postgres", postgres.ConnectionString, "--table", table);

        Assert.Equal(0, exitCode);
        Assert.Matches(@"web-1\s*│\s*DualWriteRedisPrimary\s*│[^│]*│\s*\d+ s\s*│\s*live", output);
        Assert.Matches(@"web-old\s*│\s*RedisOnly\s*│[^│]*│\s*\d+ s\s*│\s*stale", output);
        Assert.Contains("2 live instance(s)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Live_instances_more_than_one_step_apart_exit_1()
    {
        var table = await CreateTableAsync();
        await InsertAsync(table, "web-1", "RedisOnly", TimeSpan.Zero);
        await InsertAsync(table, "web-2", "PostgresOnly", TimeSpan.Zero);

        var (exitCode, output) = await CliRunner.RunAsync("status", "--postgres", postgres.ConnectionString, "--table", table);

        Assert.Equal(1, exitCode);
        Assert.Contains("more than one step apart", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_without_the_fleet_table_exits_2_and_says_to_migrate()
    {
        var (exitCode, output) = await CliRunner.RunAsync("status", "--postgres", postgres.ConnectionString, "--table", PostgresServer.UniqueTableName("none"));

        Assert.Equal(2, exitCode);
        Assert.Contains("sessionstore migrate", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_without_PostgreSQL_exits_2()
    {
        var (exitCode, output) = await CliRunner.RunAsync("status");

        Assert.Equal(2, exitCode);
        Assert.Contains("SessionStore:Postgres", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_live_instance_whose_phase_cannot_be_read_is_shown_as_such_and_exits_1()
    {
        var table = await CreateTableAsync();
        await InsertAsync(table, "web-1", "DualWriteRedisPrimary", TimeSpan.Zero);
        await InsertAsync(table, "web-next", "DualWriteWithSomethingNew", TimeSpan.Zero);

        var (exitCode, output) = await CliRunner.RunAsync("status", "--postgres", postgres.ConnectionString, "--table", table);
        var json = await CliRunner.RunAsync("status", "--postgres", postgres.ConnectionString, "--table", table, "--output", "json");

        Assert.True(exitCode == 1, output);
        Assert.Matches(@"web-next\s*│\s*unreadable\s*│", output);
        Assert.Contains("1 live instance(s) record a phase this tool cannot read: web-next", output, StringComparison.Ordinal);
        Assert.Equal(1, json.ExitCode);
        using var document = System.Text.Json.JsonDocument.Parse(json.Output);
        Assert.Equal(1, document.RootElement.GetProperty("unreadablePhases").GetInt32());
        Assert.Contains(document.RootElement.GetProperty("instances").EnumerateArray(), i => i.GetProperty("phase").GetString() == "unreadable");
    }

    [Fact]
    public async Task An_instance_name_cannot_forge_a_row_or_a_column_or_reverse_the_text()
    {
        var table = await CreateTableAsync();
        await InsertAsync(table, "web-1\n│ web-9 │ PostgresOnly │ [red]x[/] \u202Eevil", "DualWriteRedisPrimary", TimeSpan.Zero);

        var (exitCode, output) = await CliRunner.RunAsync("status", "--postgres", postgres.ConnectionString, "--table", table);

        Assert.True(exitCode == 0, output);
        Assert.Contains(@"web-1\u000a\u2502 web-9 \u2502 PostgresOnly \u2502 [red]x[/] \u202eevil", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\u202E", output, StringComparison.Ordinal);
        Assert.Equal(1, output.Split('\n').Count(line => line.Contains("web-9", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_heartbeat_in_the_future_beyond_the_stale_limit_is_stale_and_shown_ahead()
    {
        var table = await CreateTableAsync();
        await InsertAsync(table, "web-1", "RedisOnly", TimeSpan.Zero);
        await InsertAsync(table, "web-ahead", "PostgresOnly", -TimeSpan.FromHours(2)); // a RedisOnly fleet would be three steps away from it

        var (exitCode, output) = await CliRunner.RunAsync("status", "--postgres", postgres.ConnectionString, "--table", table);

        Assert.True(exitCode == 0, output);
        Assert.Matches(@"web-ahead\s*│\s*PostgresOnly\s*│[^│]*│\s*7,\d{3} s ahead\s*│\s*stale", output);
        Assert.Contains("A heartbeat is in the future", output, StringComparison.Ordinal);
    }

    private async Task<string> CreateTableAsync()
    {
        var table = PostgresServer.UniqueTableName("status");
        await new PostgresSchemaMigrator(postgres.DataSource, new PostgresSessionCacheOptions { TableName = table }).MigrateAsync(Token);
        return table;
    }

    private async Task InsertAsync(string table, string instance, string phase, TimeSpan age)
    {
        await using var command = postgres.DataSource.CreateCommand($"INSERT INTO \"public\".\"{table}_instances\" (instance_id, phase, last_heartbeat) VALUES ($1, $2, now() - $3)");
        command.Parameters.Add(new NpgsqlParameter { Value = instance });
        command.Parameters.Add(new NpgsqlParameter { Value = phase });
        command.Parameters.Add(new NpgsqlParameter { Value = age });
        await command.ExecuteNonQueryAsync(Token);
    }
}
