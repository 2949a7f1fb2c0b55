using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SessionStore.Tests.DualWrite;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Faults;

/// <summary>Health is not "Healthy" while every PostgreSQL operation would fail because the table is missing.</summary>
public sealed class MissingTableHealthTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("pg-only", HealthStatus.Unhealthy)]
    [InlineData("dual-redis-primary", HealthStatus.Degraded)]
    public async Task A_missing_table_makes_health_unhealthy_or_degraded_with_the_reason(string phase, HealthStatus expected)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration, settings => settings["SessionStore:Postgres:CreateTableIfMissing"] = "false");

        var report = await harness.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token);

        Assert.Equal(expected, report.Status);
        var entry = Assert.Single(report.Entries).Value;
        Assert.Contains("does not exist", entry.Exception!.Message, StringComparison.Ordinal);
    }
}
