using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using SessionStore.DependencyInjection.Internal;

namespace SessionStore.Tests.DependencyInjection.Internal;

public sealed class RestartRequiredMonitorTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_reloaded_start_up_only_key_is_logged_once_as_needing_a_restart_without_its_value()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "RedisOnly",
            ["SessionStore:Postgres:ConnectionString"] = "Host=a;Password=first-secret",
            ["SessionStore:Postgres:TableName"] = "sessions",
            ["SessionStore:Postgres:TouchThreshold"] = "0.1",
            ["SessionStore:Postgres:CreateTableIfMissing"] = "false",
            ["SessionStore:Redis:Configuration"] = "127.0.0.1:1,abortConnect=false",
        }).Build();
        var logs = new FakeLogCollector();
        await using var provider = await StartMonitorAsync(configuration, logs);

        configuration["SessionStore:Postgres:TouchThreshold"] = "0.2";
        configuration["SessionStore:Postgres:CreateTableIfMissing"] = "true";

        // Connection settings are live (the store is built again), so they need no restart, and are never logged.
        configuration["SessionStore:Postgres:TableName"] = "other_sessions";
        configuration["SessionStore:Postgres:ConnectionString"] = "Host=a;Password=second-secret";
        configuration.Reload();
        configuration.Reload();
        configuration["SessionStore:Phase"] = "DualWriteRedisPrimary";
        configuration.Reload();

        var warnings = logs.GetSnapshot().Where(r => r.Id.Id == SessionStoreEventIds.OptionsRestartRequired).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, r => r.Message.StartsWith("SessionStore:Postgres:TouchThreshold changed", StringComparison.Ordinal));
        Assert.Contains(warnings, r => r.Message.StartsWith("SessionStore:Postgres:CreateTableIfMissing changed", StringComparison.Ordinal));
        Assert.All(warnings, r => Assert.Equal(LogLevel.Warning, r.Level));
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Message.Contains("secret", StringComparison.Ordinal) || r.Message.Contains("other_sessions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_reloaded_start_up_only_key_the_next_start_up_would_refuse_is_also_logged_as_an_error_naming_it()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "DualWriteRedisPrimary",
            ["SessionStore:Postgres:ConnectionString"] = "Host=a;Password=secret",
            ["SessionStore:Redis:Configuration"] = "127.0.0.1:1,abortConnect=false",
        }).Build();
        var logs = new FakeLogCollector();
        await using var provider = await StartMonitorAsync(configuration, logs);

        configuration["SessionStore:Postgres:OperationTimeout"] = "-00:00:05";
        configuration.Reload();
        configuration.Reload();

        var error = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.OptionsReloadRefused);
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains("SessionStore:Postgres: OperationTimeout is -00:00:05; it must be between", error.Message, StringComparison.Ordinal);
        Assert.Contains("the next start-up will stop on it", error.Message, StringComparison.Ordinal);
        // The connection string is set: pointing at it would send the operator to the wrong key.
        Assert.DoesNotContain("ConnectionString", error.Message, StringComparison.Ordinal);
        Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.OptionsRestartRequired);

        configuration["SessionStore:Postgres:OperationTimeout"] = "00:00:03";
        configuration.Reload();
        Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.OptionsReloadRefused);
    }

    /// <summary>The dual-write registration an application makes, with its restart monitor started and its logs collected.</summary>
    private static async Task<ServiceProvider> StartMonitorAsync(IConfiguration configuration, FakeLogCollector logs)
    {
        var services = new ServiceCollection().AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
        services.AddDualWriteSessionStore(configuration.GetSection("SessionStore"));
        var provider = services.BuildServiceProvider();
        await provider.GetServices<IHostedService>().OfType<RestartRequiredMonitor<SessionStoreOptions>>().Single().StartAsync(Token);
        return provider;
    }

    [Fact]
    public void Every_start_up_only_key_is_named_under_the_SessionStore_section()
    {
        Assert.All(LiveOptions.SessionStoreStartupOnlyKeys, k => Assert.StartsWith("SessionStore:", k.Key, StringComparison.Ordinal));
        Assert.Contains(LiveOptions.SessionStoreStartupOnlyKeys, k => k.Key == "SessionStore:Postgres:CreateTableIfMissing");
        Assert.Null(Options.Create(new SessionStoreOptions()).Value.Postgres.Partitioning);
    }
}
