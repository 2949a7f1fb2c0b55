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
