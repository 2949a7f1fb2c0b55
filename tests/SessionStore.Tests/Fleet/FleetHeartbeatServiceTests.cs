using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using SessionStore.Fleet;
using SessionStore.Fleet.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Fleet;

/// <summary>The fleet table on the real server: heartbeats, the phase check against the other live instances, and health.</summary>
public sealed class FleetHeartbeatServiceTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_instance_two_steps_from_the_fleet_logs_an_error_and_turns_health_Degraded()
    {
        var table = await CreateTableAsync();
        await using var first = Instance(table, "web-1", SessionStorePhase.RedisOnly);
        await using var second = Instance(table, "web-2", SessionStorePhase.RedisOnly);
        await first.BeatAsync(Token);
        await second.BeatAsync(Token);

        await using var app = App(table, "web-3", "PostgresOnly");
        var fleet = app.GetRequiredService<FleetHeartbeatService>();
        await fleet.BeatAsync(Token);
        var health = await app.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token);

        Assert.NotNull(fleet.PhaseWarning);
        Assert.Contains("runs phase PostgresOnly, 3 steps from RedisOnly, which 2 of the 2 other live instance(s) run", fleet.PhaseWarning, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("PostgresOnly", health.Entries["sessionstore"].Description, StringComparison.Ordinal);
        var error = Assert.Single(app.GetRequiredService<FakeLogCollector>().GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.FleetPhaseOutOfLine);
        Assert.Equal(LogLevel.Error, error.Level);
    }

    [Fact]
    public async Task Adjacent_phases_and_stale_instances_are_in_line()
    {
        var table = await CreateTableAsync();
        await using var neighbour = Instance(table, "web-1", SessionStorePhase.DualWriteRedisPrimary);
        await neighbour.BeatAsync(Token);
        await ScalarAsync(table, "INSERT INTO {instances} (instance_id, phase, last_heartbeat) VALUES ('gone', 'RedisOnly', now() - interval '10 minutes')");

        await using var self = Instance(table, "web-2", SessionStorePhase.DualWritePostgresPrimary);
        await self.BeatAsync(Token);
        var instances = await SessionStoreFleet.ReadAsync(Options(table), TimeSpan.FromMinutes(1), Token);

        Assert.Null(self.PhaseWarning);
        Assert.Equal(["gone", "web-1", "web-2"], instances.Select(i => i.InstanceId));
        Assert.True(instances[0].IsStale);
        Assert.Equal(SessionStorePhase.DualWritePostgresPrimary, instances[2].Phase);
        Assert.False(instances[2].IsStale);
    }

    [Fact]
    public async Task A_phase_brought_back_in_line_clears_the_warning()
    {
        var table = await CreateTableAsync();
        await using var other = Instance(table, "web-1", SessionStorePhase.RedisOnly);
        await other.BeatAsync(Token);
        var phase = SessionStorePhase.DualWritePostgresPrimary;
        await using var self = new FleetHeartbeatService(() => phase, Connection(table), new SessionStoreFleetOptions { InstanceName = "web-2" }, TimeProvider.System, NullLogger<FleetHeartbeatService>.Instance);

        await self.BeatAsync(Token);
        var outOfLine = self.PhaseWarning;
        phase = SessionStorePhase.DualWriteRedisPrimary;
        await self.BeatAsync(Token);

        Assert.NotNull(outOfLine);
        Assert.Null(self.PhaseWarning);
    }

    [Fact]
    public async Task A_hosted_instance_writes_its_heartbeat_and_leaves_the_fleet_when_stopped()
    {
        var table = await CreateTableAsync();
        await using var app = App(table, "web-9", "DualWriteRedisPrimary");
        var fleet = app.GetRequiredService<FleetHeartbeatService>();

        await fleet.StartAsync(Token);
        IReadOnlyList<FleetInstance> seen = [];
        for (var i = 0; i < 40 && seen.Count == 0; i++)
        {
            await Task.Delay(100, Token);
            seen = await SessionStoreFleet.ReadAsync(Options(table), TimeSpan.FromMinutes(1), Token);
        }

        await fleet.StopAsync(Token);
        var after = await SessionStoreFleet.ReadAsync(Options(table), TimeSpan.FromMinutes(1), Token);

        var instance = Assert.Single(seen);
        Assert.Equal(("web-9", SessionStorePhase.DualWriteRedisPrimary), (instance.InstanceId, instance.Phase));
        Assert.Empty(after);
    }

    [Theory]
    [InlineData(0.5, 15)]
    [InlineData(15, 10)]
    public void Bad_fleet_options_are_named(double intervalSeconds, double staleSeconds)
    {
        var failures = new SessionStoreFleetOptions { HeartbeatInterval = TimeSpan.FromSeconds(intervalSeconds), StaleAfter = TimeSpan.FromSeconds(staleSeconds) }.Validate();

        Assert.NotEmpty(failures);
    }

    private async Task<string> CreateTableAsync()
    {
        var table = PostgresServer.UniqueTableName("fleet");
        await new PostgresSchemaMigrator(postgres.DataSource, new PostgresSessionCacheOptions { TableName = table }).MigrateAsync(Token);
        return table;
    }

    private PostgresSessionCacheOptions Options(string table) => new() { ConnectionString = postgres.ConnectionString, TableName = table };

    private FleetHeartbeatService.PostgresConnection Connection(string table) => new(postgres.ConnectionString, postgres.DataSource, "public", table);

    private FleetHeartbeatService Instance(string table, string name, SessionStorePhase phase) =>
        new(() => phase, Connection(table), new SessionStoreFleetOptions { InstanceName = name }, TimeProvider.System, NullLogger<FleetHeartbeatService>.Instance);

    private ServiceProvider App(string table, string name, string phase)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = phase,
            ["SessionStore:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["SessionStore:Postgres:TableName"] = table,
            ["SessionStore:Redis:Configuration"] = redis.Configuration,
            ["SessionStore:Redis:InstanceName"] = $"fleet-{Guid.NewGuid():N}:",
        };
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddFakeLogging());
        services.AddDualWriteSessionStore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("SessionStore"));
        services.Configure<SessionStoreFleetOptions>(o => o.InstanceName = name);
        return services.BuildServiceProvider();
    }

    private async Task ScalarAsync(string table, string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql.Replace("{instances}", $"\"public\".\"{table}_instances\"", StringComparison.Ordinal));
        await command.ExecuteNonQueryAsync(Token);
    }
}
