using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>Live phase switches that would serve stale or no sessions are refused, and the phase in force says where it came from.</summary>
public sealed class PhaseGuardTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("redis-only", "pg-only", SessionStorePhase.RedisOnly, "DualWriteRedisPrimary")]
    [InlineData("pg-only", "redis-only", SessionStorePhase.PostgresOnly, "DualWritePostgresPrimary")]
    [InlineData("redis-only", "dual-pg-primary", SessionStorePhase.RedisOnly, "DualWriteRedisPrimary")]
    [InlineData("dual-redis-primary", "pg-only", SessionStorePhase.DualWriteRedisPrimary, "DualWritePostgresPrimary")]
    public async Task A_switch_that_skips_a_step_is_refused_naming_the_safe_next_phase(string from, string to, SessionStorePhase stays, string safeStep)
    {
        await using var harness = new DualWriteHarness(from, postgres.ConnectionString, redis.Configuration);
        await harness.StartAsync();

        harness.Phase = to;

        Assert.Equal(stays, harness.Cache.Phase);
        var refusal = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.DualWritePhaseRefused);
        Assert.Equal(LogLevel.Error, refusal.Level);
        Assert.Contains($"Switch to {safeStep} first", refusal.Message, StringComparison.Ordinal);
        Assert.Contains($"'{to}'", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public Task The_phase_in_force_and_the_provider_that_set_it_are_logged_at_start_up_and_on_change() =>
        WithPhaseFromEnvironmentAsync("dual-redis-primary", async (harness, variable) =>
        {
            await harness.StartAsync();

            // The environment variable wins over the in-memory (appsettings-like) value, and the log says so.
            var inForce = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.DualWritePhaseInForce);
            Assert.Contains("DualWriteRedisPrimary", inForce.Message, StringComparison.Ordinal);
            Assert.Contains("EnvironmentVariablesConfigurationProvider", inForce.Message, StringComparison.Ordinal);

            Environment.SetEnvironmentVariable(variable, null);
            ((IConfigurationRoot)harness.Configuration).Reload();
            Assert.Equal(SessionStorePhase.RedisOnly, harness.Cache.Phase);
            var change = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.DualWritePhaseChanged);
            Assert.Contains("MemoryConfigurationProvider", change.Message, StringComparison.Ordinal);
        });

    [Fact]
    public Task A_phase_that_names_none_stops_start_up_quoting_it_and_naming_the_environment_variable_that_set_it() =>
        WithPhaseFromEnvironmentAsync("dual-writes", async (harness, _) =>
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(harness.StartAsync);

            Assert.Contains("SessionStore:Phase is 'dual-writes', which names no phase", error.Message, StringComparison.Ordinal);
            Assert.Contains("It is set by configuration key SessionStore:Phase from EnvironmentVariablesConfigurationProvider", error.Message, StringComparison.Ordinal);
        });

    [Fact]
    public async Task A_store_that_cannot_be_built_refuses_the_switch_keeps_serving_and_recovers_once_fixed()
    {
        var (harness, key) = await StartedWithOneSessionAsync("redis-only");
        await using var _ = harness;

        // A typo made while editing the section for the next phase.
        harness.Configuration["SessionStore:Postgres:ConnectionString"] = "Host=127.0.0.1;Port=notaport;;=";
        harness.Phase = "dual-redis-primary";

        // Refused before any connection is tried: Npgsql cannot read the string, and the log says which (not its value).
        Assert.Equal(SessionStorePhase.RedisOnly, harness.Cache.Phase);
        var failure = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.DualWritePhaseRefused);
        Assert.Contains("SessionStore:Postgres: ConnectionString cannot be read", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("notaport", failure.Message, StringComparison.Ordinal);
        Assert.Equal([7], await harness.Cache.GetAsync(key, Token));

        // Fixed without a restart: the failed build was not remembered.
        harness.Configuration["SessionStore:Postgres:ConnectionString"] = postgres.ConnectionString;
        harness.Phase = "dual-redis-primary";
        Assert.Equal(SessionStorePhase.DualWriteRedisPrimary, harness.Cache.Phase);
        await harness.Cache.SetAsync(key, [8], DualWriteHarness.IdleTimeout, Token);
        Assert.Equal([8], await harness.Postgres.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_store_built_again_on_another_table_is_logged_as_a_warning_naming_the_key_not_its_value()
    {
        var (harness, key) = await StartedWithOneSessionAsync("dual-pg-primary");
        await using var _ = harness;

        // A live edit of the table: the store is built again there, where none of the sessions are.
        var otherTable = PostgresServer.UniqueTableName("moved");
        harness.Configuration["SessionStore:Postgres:TableName"] = otherTable;
        harness.Phase = "dual-pg-primary";

        // In a dual phase the session is still served: read-repair copies it from Redis into the new table.
        Assert.Equal([7], await harness.Cache.GetAsync(key, Token));
        harness.Phase = "dual-pg-primary"; // a reload that changes no connection setting builds nothing
        Assert.Equal([7], await harness.Cache.GetAsync(key, Token));

        var rebuilt = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.DualWriteStoreRebuilt);
        Assert.Equal(LogLevel.Warning, rebuilt.Level);
        Assert.Contains("changed TableName under SessionStore:Postgres", rebuilt.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(otherTable, rebuilt.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_unhealthy_naming_the_cause_when_the_primary_table_is_missing()
    {
        await using var harness = new DualWriteHarness("pg-only", postgres.ConnectionString, redis.Configuration, s => s["SessionStore:Postgres:CreateTableIfMissing"] = "false");

        var report = await harness.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token);

        var entry = report.Entries["sessionstore"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("does not exist", entry.Description, StringComparison.Ordinal);
    }

    /// <summary>A started harness in <paramref name="phase"/>, holding one session ([7]) under the returned key.</summary>
    private async Task<(DualWriteHarness Harness, string Key)> StartedWithOneSessionAsync(string phase)
    {
        var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        await harness.StartAsync();
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [7], DualWriteHarness.IdleTimeout, Token);
        return (harness, key);
    }

    /// <summary>
    /// Runs <paramref name="test"/> on a harness whose appsettings-like phase is <c>redis-only</c> while the environment
    /// variable (its name given to the test, under a prefix of its own) says <paramref name="phase"/>, and hides it.
    /// </summary>
    private async Task WithPhaseFromEnvironmentAsync(string phase, Func<DualWriteHarness, string, Task> test)
    {
        var prefix = $"SSTEST_{Guid.NewGuid():N}_";
        var variable = prefix + "SessionStore__Phase";
        Environment.SetEnvironmentVariable(variable, phase);
        try
        {
            await using var harness = new DualWriteHarness("redis-only", postgres.ConnectionString, redis.Configuration);
            harness.Configuration.AddEnvironmentVariables(prefix);
            await test(harness, variable);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }
}
