using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary><c>sessionstore sync</c> as the documented remedy: the secondary lost sessions, sync, then verify says ready.</summary>
[Collection(typeof(BackfillCollection))]
public sealed class SyncCommandTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sync_then_verify_exits_0_after_Redis_lost_its_sessions_in_dual_pg_primary()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(300);
        var environment = VerifyCommandTests.Environment(scenario);
        await CliRunner.RunAsync(environment, Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario)]);
        foreach (var key in keys.Take(120))
        {
            await scenario.Redis.KeyDeleteAsync(scenario.Prefix + key); // as a Redis restarted empty would, for part of the sessions
        }

        var before = await CliRunner.RunAsync(environment, Token, ["verify", .. CliRunner.Flags(scenario, "dual-pg-primary")]);
        var sync = await CliRunner.RunAsync(environment, Token, ["sync", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario, "dual-pg-primary")]);
        var after = await CliRunner.RunAsync(environment, Token, ["verify", "--full", .. CliRunner.Flags(scenario, "dual-pg-primary")]);

        Assert.Equal(1, before.ExitCode);
        Assert.Contains("sessionstore sync", before.Output, StringComparison.Ordinal);
        Assert.Equal(0, sync.ExitCode);
        Assert.Matches(@"Copied\s*│\s*120", sync.Output);
        Assert.Contains("Sync complete", sync.Output, StringComparison.Ordinal);
        Assert.Equal(0, after.ExitCode);
        Assert.Contains("Ready for the next phase", after.Output, StringComparison.Ordinal);
        Assert.Equal(keys.ToHashSet(), await scenario.RedisKeysAsync());
    }

    [Fact]
    public async Task Sync_refuses_a_phase_whose_primary_the_live_instances_do_not_read()
    {
        // A stale SessionStore__Phase in the operator's shell: the application reads PostgreSQL first, the sync would
        // copy Redis's older sessions over PostgreSQL's.
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(20);
        await using (var instance = postgres.DataSource.CreateCommand($"INSERT INTO \"public\".\"{scenario.Table}_instances\" (instance_id, phase) VALUES ('web-a', 'DualWritePostgresPrimary')"))
        {
            await instance.ExecuteNonQueryAsync(Token);
        }

        var environment = VerifyCommandTests.Environment(scenario);
        var wrong = await CliRunner.RunAsync(environment, Token, ["sync", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario, "dual-redis-primary")]);
        var right = await CliRunner.RunAsync(environment, Token, ["sync", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario, "dual-pg-primary")]);

        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("1 live application instance(s) run DualWritePostgresPrimary", wrong.Output, StringComparison.Ordinal);
        Assert.Empty(await scenario.PostgresKeysAsync());
        Assert.Equal(0, right.ExitCode);
    }

    [Fact]
    public async Task Sync_exits_2_on_a_backfill_checkpoint_naming_the_file_before_anything_is_written()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var checkpoint = VerifyCommandTests.TempFile();
        var keys = await CopyCheckpointTests.InterruptedBackfillAsync(scenario, scenario.Options(), checkpoint);
        var older = MigrationScenario.Session(9999);
        foreach (var key in keys)
        {
            await scenario.Postgres.SetAsync(key, older, new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        }

        var (exitCode, output) = await CliRunner.RunAsync(VerifyCommandTests.Environment(scenario), Token, ["sync", "--checkpoint", checkpoint, .. CliRunner.Flags(scenario, "dual-redis-primary")]);

        Assert.Equal(2, exitCode);
        Assert.Contains(checkpoint, output, StringComparison.Ordinal);
        Assert.Contains("was written by a backfill, not a sync", output, StringComparison.Ordinal);
        Assert.Contains("--restart", output, StringComparison.Ordinal);
        Assert.True(File.Exists(checkpoint));
        foreach (var key in keys)
        {
            Assert.Equal(older, await scenario.Postgres.GetAsync(key, Token));
        }
    }

    [Theory]
    [InlineData("redis-only")]
    [InlineData("pg-only")]
    public async Task Sync_outside_a_dual_phase_exits_2_before_connecting(string phase)
    {
        var (exitCode, output) = await CliRunner.RunAsync("sync", "--phase", phase, "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1");

        Assert.Equal(2, exitCode);
        Assert.Contains("dual phase", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sync_with_a_phase_that_names_none_exits_2()
    {
        var (exitCode, output) = await CliRunner.RunAsync("sync", "--phase", "dual");

        Assert.Equal(2, exitCode);
        Assert.Contains("'dual'", output, StringComparison.Ordinal);
    }
}
