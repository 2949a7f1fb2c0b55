using SessionStore.Rehearsal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Samples;

/// <summary>The README's demo, shortened: the sample app through every phase and back on the test servers, losing no session.</summary>
public sealed class MigrationRehearsalTests(PostgresServer postgres, RedisServer redis)
{
    private const int ReadOnlySessions = 60;

    [Fact]
    public async Task A_shortened_rehearsal_loses_no_session_in_any_phase()
    {
        var report = await RehearseAsync(options =>
        {
            options.ModifiedSessions = 60;
            options.NewSessionsPerPhase = 15;
        });

        Assert.Equal(MigrationRehearsal.Route, report.Phases.Select(phase => phase.Phase));
        Assert.All(report.Phases, phase =>
        {
            Assert.True(phase.SessionsLost == 0, $"{phase.SessionsLost} session(s) lost in step {phase.Step}, {phase.Phase}.");
            Assert.True(phase.FailedRequests == 0, $"{phase.FailedRequests} request(s) failed in step {phase.Step}, {phase.Phase}.");
            Assert.True(phase.Requests >= report.SeededSessions, $"Step {phase.Step} sent {phase.Requests} requests; every session should have had at least one.");
        });
        Assert.True(report.Passed);
    }

    [Fact]
    public async Task Sessions_changed_only_in_PostgresOnly_survive_the_rollback_to_Redis()
    {
        // Their Redis copies are stale when the rollback begins; comparisons in DualWritePostgresPrimary must
        // rewrite every one of them before Redis answers again.
        var report = await RehearseAsync(options =>
        {
            options.ModifiedSessions = 20;
            options.NewSessionsPerPhase = 5;
            options.ChangedInPostgresOnlySessions = 60;
        });

        Assert.All(report.Phases, phase => Assert.True(phase.SessionsLost == 0, $"{phase.SessionsLost} session(s) lost in step {phase.Step}, {phase.Phase}."));
        Assert.True(report.Passed);
    }

    [Fact]
    public async Task Sessions_that_are_only_read_reach_PostgreSQL_by_read_repair_and_each_store_is_timed_in_its_phases()
    {
        var report = await RehearseAsync(options =>
        {
            options.ModifiedSessions = 0;
            options.NewSessionsPerPhase = 0;
            options.RoundsPerPhase = 1;
        });

        Assert.True(report.Passed);

        // Each read-only session is copied once on the way to PostgresOnly: by a comparison while Redis answers, or
        // by a repair of the miss once PostgreSQL answers.
        Assert.Equal(ReadOnlySessions, report.Phases[1].ReadRepairs + report.Phases[2].ReadRepairs);
        Assert.All(report.Phases, phase => Assert.Equal(StoresOf(phase.Phase), phase.Latencies.Keys.Order()));
    }

    private static string[] StoresOf(SessionStorePhase phase) => phase switch
    {
        SessionStorePhase.RedisOnly => ["redis"],
        SessionStorePhase.PostgresOnly => ["postgresql"],
        _ => ["postgresql", "redis"],
    };

    /// <summary>Runs a rehearsal on a table and a Redis prefix of its own, so that other tests' sessions stay out of it.</summary>
    private Task<RehearsalReport> RehearseAsync(Action<RehearsalOptions> size)
    {
        var options = new RehearsalOptions
        {
            PostgresConnectionString = postgres.ConnectionString,
            RedisConfiguration = redis.Configuration,
            TableName = PostgresServer.UniqueTableName("rehearsal"),
            InstanceName = $"rehearsal-{Guid.NewGuid():N}:",
            ReadOnlySessions = ReadOnlySessions,
        };
        size(options);
        return new MigrationRehearsal(options).RunAsync(TestContext.Current.CancellationToken);
    }
}
