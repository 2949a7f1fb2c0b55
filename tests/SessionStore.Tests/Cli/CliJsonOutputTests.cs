using System.Text.Json;
using SessionStore.Postgres;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary><c>--output json</c> on verify, stats, status, backfill and sync: one JSON document, the documented names, the same exit codes.</summary>
[Collection(typeof(BackfillCollection))]
public sealed class CliJsonOutputTests(PostgresServer postgres, RedisServer redis) : IDisposable
{
    private readonly MigrationScenario _scenario = new(postgres, redis);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Backfill_then_verify_print_one_JSON_document_each()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(40);

        var backfill = await RunJsonAsync(0, "backfill", "--checkpoint", VerifyCommandTests.TempFile());
        var verify = await RunJsonAsync(0, "verify", "--full");

        Assert.Equal("backfill", backfill.GetProperty("command").GetString());
        Assert.Equal("completed", backfill.GetProperty("outcome").GetString());
        Assert.Equal(40, backfill.GetProperty("copied").GetInt64());
        Assert.Equal(0, backfill.GetProperty("errors").GetInt64());
        Assert.False(backfill.GetProperty("resumed").GetBoolean());
        Assert.True(verify.GetProperty("readyForNextPhase").GetBoolean());
        Assert.Equal("DualWriteRedisPrimary", verify.GetProperty("phase").GetString());
        Assert.Equal("Redis", verify.GetProperty("primary").GetString());
        Assert.Equal(40, verify.GetProperty("redisLiveSessions").GetInt64());
        Assert.Equal(40, verify.GetProperty("postgresLiveSessions").GetInt64());
        Assert.Equal(40, verify.GetProperty("compared").GetInt64());
        Assert.Equal(0, verify.GetProperty("mismatches").GetProperty("missingInSecondary").GetInt64());
    }

    [Fact]
    public async Task Verify_with_mismatches_exits_1_and_counts_them_per_kind()
    {
        await _scenario.CreateTableAsync();
        var keys = await _scenario.WriteRedisSessionsAsync(20);
        await RunJsonAsync(0, "backfill", "--checkpoint", VerifyCommandTests.TempFile());
        await _scenario.Postgres.SetAsync(keys[0], MigrationScenario.Session(1000), new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        await _scenario.Postgres.RemoveAsync(keys[1], Token);

        var verify = await RunJsonAsync(1, "verify", "--full");

        Assert.False(verify.GetProperty("readyForNextPhase").GetBoolean());
        Assert.Equal(1, verify.GetProperty("mismatches").GetProperty("missingInSecondary").GetInt64());
        Assert.Equal(1, verify.GetProperty("mismatches").GetProperty("valueDiffers").GetInt64());
        Assert.Equal(0, verify.GetProperty("mismatches").GetProperty("expiryDiffers").GetInt64());
    }

    [Fact]
    public async Task Sync_prints_its_summary_as_JSON()
    {
        await _scenario.CreateTableAsync();
        var keys = await _scenario.WriteRedisSessionsAsync(10);
        await RunJsonAsync(0, "backfill", "--checkpoint", VerifyCommandTests.TempFile());
        await _scenario.Postgres.RemoveAsync(keys[0], Token);

        var sync = await RunJsonAsync(0, "sync", "--checkpoint", VerifyCommandTests.TempFile());

        Assert.Equal("sync", sync.GetProperty("command").GetString());
        Assert.Equal(1, sync.GetProperty("copied").GetInt64());
        Assert.Equal(10, sync.GetProperty("scanned").GetInt64());
    }

    [Fact]
    public async Task Stats_prints_counts_and_sizes_as_JSON()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(12);
        await RunJsonAsync(0, "backfill", "--checkpoint", VerifyCommandTests.TempFile());

        var stats = await RunJsonAsync(0, "stats");

        Assert.Equal($"public.{_scenario.Table}", stats.GetProperty("table").GetString());
        Assert.Equal(12, stats.GetProperty("redisLiveSessions").GetInt64());
        Assert.Equal(12, stats.GetProperty("postgresLiveSessions").GetInt64());
        Assert.Equal(0, stats.GetProperty("postgresExpiredRows").GetInt64());
        Assert.True(stats.GetProperty("tableBytes").GetInt64() > 0);
        Assert.Contains(stats.GetProperty("indexBytes").EnumerateObject(), index => index.Name.EndsWith("_expire_idx", StringComparison.Ordinal));
        Assert.Equal(JsonValueKind.Null, stats.GetProperty("lastCleanupFinishedAt").ValueKind);
    }

    [Fact]
    public async Task Status_prints_the_instances_and_exits_1_when_phases_are_apart()
    {
        await _scenario.CreateTableAsync();
        await InsertInstanceAsync("web-1", "RedisOnly");
        await InsertInstanceAsync("web-2", "PostgresOnly");

        var (exitCode, output) = await CliRunner.RunAsync("status", "--output", "json", "--postgres", postgres.ConnectionString, "--table", _scenario.Table);

        Assert.Equal(1, exitCode);
        using var document = JsonDocument.Parse(output);
        var status = document.RootElement;
        Assert.False(status.GetProperty("phasesAdjacent").GetBoolean());
        Assert.Equal(2, status.GetProperty("liveInstances").GetInt32());
        Assert.Equal(60, status.GetProperty("staleAfterSeconds").GetDouble());
        var instances = status.GetProperty("instances").EnumerateArray().ToList();
        Assert.Equal(["web-1", "web-2"], instances.Select(i => i.GetProperty("instanceId").GetString()).Order());
        Assert.All(instances, i => Assert.False(i.GetProperty("stale").GetBoolean()));
        Assert.Contains(instances, i => i.GetProperty("phase").GetString() == "PostgresOnly");
    }

    [Fact]
    public async Task Without_a_terminal_a_long_table_name_and_prefix_never_wrap_a_row()
    {
        // Long enough that an 80-column layout (the default for a redirected console) wraps the caption and rows.
        var prefix = $"an-application-with-a-rather-long-instance-name-{Guid.NewGuid():N}:";
        var environment = new Dictionary<string, string?>(VerifyCommandTests.Environment(_scenario)) { ["SessionStore__Redis__InstanceName"] = prefix };
        var table = $"sessions_of_a_long_named_app_{Guid.NewGuid():N}"[..50];
        await new PostgresSchemaMigrator(postgres.DataSource, new PostgresSessionCacheOptions { TableName = table }).MigrateAsync(Token);
        string[] flags = ["--postgres", postgres.ConnectionString, "--table", table, "--redis", redis.Configuration];

        var (exitCode, output) = await CliRunner.RunPlainAsync(environment, Token, ["stats", .. flags]);
        var backfill = await CliRunner.RunPlainAsync(environment, Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), .. flags]);

        Assert.True(exitCode == 0, output);
        var lines = output.Split('\n');
        Assert.Contains(lines, line => line.Contains($"public.{table}, Redis prefix '{prefix}'", StringComparison.Ordinal));
        Assert.Contains(lines, line => System.Text.RegularExpressions.Regex.IsMatch(line, @"PostgreSQL live sessions\s*│\s*0\s*│"));
        Assert.DoesNotContain("\u001b[", output, StringComparison.Ordinal);
        Assert.Equal(0, backfill.ExitCode);
        Assert.Contains("Backfill complete. Check the stores with sessionstore verify.", backfill.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("━", backfill.Output, StringComparison.Ordinal); // no progress bar
    }

    [Fact]
    public async Task Without_a_terminal_backfill_prints_a_progress_line_per_10_seconds_at_most_not_per_batch()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(1_000);
        var started = DateTime.UtcNow;

        var (exitCode, output) = await CliRunner.RunPlainAsync(VerifyCommandTests.Environment(_scenario), Token, ["backfill", "--batch-size", "50", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(_scenario)]);

        Assert.Equal(0, exitCode);
        var progressLines = output.Split('\n').Count(line => line.StartsWith("Backfill: ", StringComparison.Ordinal));
        Assert.InRange(progressLines, 1, 1 + (int)((DateTime.UtcNow - started).TotalSeconds / 10)); // 20 batches, not 20 lines
        Assert.Matches(@"Copied\s*│\s*1,000", output);
    }

    public void Dispose() => _scenario.Dispose();

    private async Task<JsonElement> RunJsonAsync(int expectedExitCode, params string[] command)
    {
        var (exitCode, output) = await CliRunner.RunAsync(VerifyCommandTests.Environment(_scenario), Token, [.. command, "--output", "json", .. CliRunner.Flags(_scenario)]);
        Assert.True(exitCode == expectedExitCode, $"exit code {exitCode}, expected {expectedExitCode}: {output}");
        using var document = JsonDocument.Parse(output);
        return document.RootElement.Clone();
    }

    private async Task InsertInstanceAsync(string instance, string phase)
    {
        await using var command = postgres.DataSource.CreateCommand($"INSERT INTO \"public\".\"{_scenario.Table}_instances\" (instance_id, phase, last_heartbeat) VALUES ($1, $2, now())");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = instance });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = phase });
        await command.ExecuteNonQueryAsync(Token);
    }
}
