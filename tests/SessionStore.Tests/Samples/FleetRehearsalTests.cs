using SessionStore.Rehearsal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Samples;

/// <summary>
/// Three sample instances, each in its own host, rolled through every phase and back one instance at a time on the
/// test servers, with requests spread over the instances without affinity: no session lost, no request failed, and
/// the fleet table shows the mix of phases while a step rolls out.
/// </summary>
public sealed class FleetRehearsalTests(PostgresServer postgres, RedisServer redis)
{
    private const int Instances = 3;

    [Fact]
    public async Task A_rolling_deploy_through_every_phase_and_back_loses_no_session_and_the_fleet_view_shows_the_mix()
    {
        var options = new RehearsalOptions
        {
            PostgresConnectionString = postgres.ConnectionString,
            RedisConfiguration = redis.Configuration,
            TableName = PostgresServer.UniqueTableName("fleet_rehearsal"),
            InstanceName = $"fleet-rehearsal-{Guid.NewGuid():N}:",
            ReadOnlySessions = 25,
            ModifiedSessions = 30,
            ChangedInPostgresOnlySessions = 25,
            NewSessionsPerPhase = 2,
        };

        var report = await new FleetRehearsal(options, Instances).RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(1 + ((MigrationRehearsal.Route.Count - 1) * Instances), report.Stages.Count);
        Assert.All(report.Stages, stage =>
        {
            Assert.True(stage.SessionsLost == 0, $"{stage.SessionsLost} session(s) lost in stage {stage.Stage} ({Describe(stage)}).");
            Assert.True(stage.FailedRequests == 0, $"{stage.FailedRequests} request(s) failed in stage {stage.Stage} ({Describe(stage)}).");
            Assert.True(stage.Requests >= report.SeededSessions, $"Stage {stage.Stage} sent {stage.Requests} requests; every session should have had at least one.");
            Assert.Equal(Instances, stage.FleetView.Count);
        });

        // Every step: after each switch but the last, the fleet table shows both phases of the step side by side;
        // after the last, the whole fleet in the new one.
        foreach (var step in report.Stages.Where(stage => stage.Step > 0).GroupBy(stage => stage.Step))
        {
            var stages = step.ToList();
            Assert.All(stages.SkipLast(1), stage =>
            {
                Assert.True(stage.Mixed, $"Stage {stage.Stage} should show a mixed fleet: {Describe(stage)}.");
                Assert.Equal(new[] { stage.From, stage.To }.Order(), stage.FleetView.Select(i => i.Phase).Distinct().Order());
                Assert.Equal(stage.To, stage.FleetView.Single(i => i.Instance == stage.Switched).Phase);
            });
            Assert.All(stages[^1].FleetView, i => Assert.Equal(stages[^1].To, i.Phase));
        }

        Assert.True(report.Passed);
    }

    private static string Describe(FleetStageReport stage) =>
        $"step {stage.Step} {stage.From} → {stage.To}, fleet: {string.Join(", ", stage.FleetView.Select(i => $"{i.Instance} {i.Phase}"))}";
}
