using System.Text.Json;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary>
/// <c>sessionstore backfill</c> on a Redis Cluster of its own whose slots move under it: exit 4 and the outcome
/// "incomplete" rather than "complete", in JSON and as text, and a quiet rerun that completes.
/// </summary>
[Collection(typeof(BackfillCollection))]
public sealed class BackfillCommandTests(PostgresServer postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_backfill_whose_only_pass_saw_slots_move_exits_4_and_a_rerun_on_a_quiet_cluster_completes()
    {
        await using var redis = await OwnRedisCluster.StartAsync(Token);
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(5_000);
        var masters = await redis.Cluster.MastersAsync(Token);
        string[] Backfill(params string[] extra) => ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), "--max-passes", "1", "--rate", "1000", .. extra, .. CliRunner.Flags(scenario)];

        // A pass takes 5 s at 1,000 sessions/s; the slots start moving 1 s in.
        var json = await WhileReshardingAsync(() => redis.Cluster.ReshardAsync(3_000, masters[2], masters[0], Token), CliRunner.RunAsync(VerifyCommandTests.Environment(scenario), Token, Backfill("--output", "json")));
        var text = await WhileReshardingAsync(() => redis.Cluster.ReshardAsync(3_000, masters[0], masters[2], Token), CliRunner.RunPlainAsync(VerifyCommandTests.Environment(scenario), Token, Backfill()));
        var quiet = await CliRunner.RunPlainAsync(VerifyCommandTests.Environment(scenario), Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), "--output", "json", .. CliRunner.Flags(scenario)]);

        AssertReport(json, 4, "incomplete", topologyChanged: true);

        Assert.True(text.ExitCode == 4, text.Output);
        Assert.Contains("Backfill not complete", text.Output, StringComparison.Ordinal);
        Assert.Contains("sessionstore verify --full", text.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Backfill complete", text.Output, StringComparison.Ordinal);

        AssertReport(quiet, 0, "completed", topologyChanged: false);

        Assert.Empty(keys.Except(await scenario.PostgresKeysAsync()));
    }

    /// <summary>One pass each time: one pass over a moving cluster is not complete, one over a quiet cluster is.</summary>
    private static void AssertReport((int ExitCode, string Output) run, int exitCode, string outcome, bool topologyChanged)
    {
        Assert.True(run.ExitCode == exitCode, run.Output);
        using var document = JsonDocument.Parse(run.Output);
        var report = document.RootElement;
        Assert.Equal(outcome, report.GetProperty("outcome").GetString());
        Assert.Equal(1, report.GetProperty("passes").GetInt32());
        Assert.Equal(topologyChanged, report.GetProperty("topologyChanged").GetBoolean());
    }

    private static async Task<(int ExitCode, string Output)> WhileReshardingAsync(Func<Task> reshard, Task<(int ExitCode, string Output)> backfill)
    {
        await Task.Delay(TimeSpan.FromSeconds(1), Token);
        await reshard();
        return await backfill;
    }
}
