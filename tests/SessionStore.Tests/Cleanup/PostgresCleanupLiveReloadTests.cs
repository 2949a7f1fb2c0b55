using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SessionStore.Cleanup;
using SessionStore.Cleanup.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cleanup;

/// <summary>
/// Cleanup options reloaded to invalid values while the host runs, on both registrations; PostgreSQL unreachable;
/// an interval of zero in a phase that does not clean. None of them stops the host or makes the service spin.
/// </summary>
public sealed class PostgresCleanupLiveReloadTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Every live cleanup key, each with values outside its range: (registration, key, value, range in the message).</summary>
    public static TheoryData<string, string, string, string> InvalidReloads()
    {
        var data = new TheoryData<string, string, string, string>();
        (string Key, string Value, string Range)[] values =
        [
            ("Interval", "-00:00:01", "between 00:00:01 and 1.00:00:00"),
            ("Interval", "00:00:00", "between 00:00:01 and 1.00:00:00"),
            ("Interval", "2.00:00:00", "between 00:00:01 and 1.00:00:00"),
            ("Jitter", "3", "between 0 and 0.5"),
            ("Jitter", "-0.1", "between 0 and 0.5"),
            ("Jitter", "NaN", "between 0 and 0.5"),
            ("BatchSize", "0", "between 1 and 100000"),
            ("BatchSize", "100001", "between 1 and 100000"),
            ("MaximumRunTime", "00:00:00", "between 00:00:01 and 01:00:00"),
            ("PauseBetweenBatches", "-00:00:01", "between 00:00:00 and 00:01:00"),
            ("StatementTimeout", "00:00:00", "between 00:00:00.1000000 and 00:10:00"),
            ("LockTimeout", "00:00:00", "between 00:00:00.0010000 and 00:01:00"),
        ];
        foreach (var registration in new[] { "AddPostgresSessionCleanup", "AddDualWriteSessionStore" })
        {
            foreach (var (key, value, range) in values)
            {
                data.Add(registration, key, value, range);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidReloads))]
    public async Task An_invalid_reload_is_logged_naming_the_key_and_range_and_cleanup_goes_on_with_the_last_valid_options(
        string registration, string key, string value, string range)
    {
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        var (section, prefix) = registration == "AddPostgresSessionCleanup" ? ("Cleanup", "PostgresCleanupOptions") : ("SessionStore:Cleanup", "SessionStore:Cleanup");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{section}:Interval"] = "00:01:00",
            [$"{section}:Jitter"] = "0",
            ["SessionStore:Phase"] = "PostgresOnly",
            ["SessionStore:Postgres:ConnectionString"] = table.Options.ConnectionString,
            ["SessionStore:Postgres:TableName"] = table.Options.TableName,
        }).Build();
        var time = new FakeTimeProvider();
        var logs = new FakeLogCollector();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddSingleton<TimeProvider>(time);
        if (registration == "AddPostgresSessionCleanup")
        {
            builder.Services.AddPostgresSessionCache(o => (o.ConnectionString, o.TableName) = (table.Options.ConnectionString, table.Options.TableName));
            builder.Services.Configure<PostgresCleanupOptions>(configuration.GetSection(section));
            builder.Services.AddPostgresSessionCleanup();
        }
        else
        {
            builder.Services.AddDualWriteSessionStore(configuration.GetSection("SessionStore"));
        }

        using var host = builder.Build();
        await host.StartAsync(Token);
        var service = host.Services.GetServices<IHostedService>().OfType<PostgresCleanupService>().Single();
        await PostgresSessionCleanerTests.InsertRowsAsync(table, "before", 10, "now() - interval '1 minute'");
        await AdvanceUntilAsync(time, async () => await table.ScalarAsync<long>("SELECT count(*) FROM {table}") == 0);

        configuration[$"{section}:{key}"] = value;
        configuration.Reload();
        await PostgresSessionCleanerTests.InsertRowsAsync(table, "after", 10, "now() - interval '1 minute'");
        await AdvanceUntilAsync(time, async () => await table.ScalarAsync<long>("SELECT count(*) FROM {table}") == 0);

        Assert.False(service.ExecuteTask!.IsCompleted, "the cleanup service stopped");
        var refused = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.OptionsReloadRefused);
        Assert.Equal(LogLevel.Error, refused.Level);
        Assert.Contains($"{prefix}:{key} is ", refused.Message, StringComparison.Ordinal);
        Assert.Contains(range, refused.Message, StringComparison.Ordinal);
        await host.StopAsync(Token);
        Assert.True(service.ExecuteTask.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task An_interval_of_zero_in_RedisOnly_is_logged_once_and_the_service_waits_instead_of_spinning()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "RedisOnly",
            ["SessionStore:Redis:Configuration"] = "127.0.0.1:1,abortConnect=false",
            ["SessionStore:Cleanup:Interval"] = "00:00:00",
        }).Build();
        var logs = new FakeLogCollector();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddDualWriteSessionStore(configuration.GetSection("SessionStore"));
        using var host = builder.Build();

        await host.StartAsync(Token);
        await Task.Delay(TimeSpan.FromSeconds(2), Token);
        await host.StopAsync(Token);

        var refused = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.OptionsReloadRefused);
        Assert.Contains("SessionStore:Cleanup:Interval is 00:00:00; it must be between 00:00:01 and 1.00:00:00.", refused.Message, StringComparison.Ordinal);
        Assert.Contains("the defaults", refused.Message, StringComparison.Ordinal);

        // Before the fix the loop ran without waiting and logged "skipped" about a million times a second; now the
        // defaults' five minutes stand until the configuration is fixed, so not one run came in two seconds.
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.CleanupDisabled);
        Assert.True(logs.Count < 50, $"{logs.Count} log lines in 2 s");
    }

    [Fact]
    public async Task A_run_while_PostgreSQL_is_unreachable_logs_a_warning_with_the_reason_and_counts_a_failure()
    {
        using var metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var failures = new MetricCollector<long>(metrics.GetRequiredService<IMeterFactory>(), SessionStoreMetrics.MeterName, SessionStoreMetrics.CleanupFailures);
        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = "Host=127.0.0.1;Port=1;Timeout=1", TableName = "unreachable" });
        var logger = new FakeLogger<PostgresSessionCleaner>();
        var cleaner = new PostgresSessionCleaner(cache, new MutableOptionsMonitor<PostgresCleanupOptions>(new PostgresCleanupOptions()), logger, TimeProvider.System, metrics.GetRequiredService<IMeterFactory>());

        await Assert.ThrowsAsync<Npgsql.NpgsqlException>(() => cleaner.RunOnceAsync(Token));

        var warning = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(SessionStoreEventIds.CleanupCouldNotStart, warning.Id.Id);
        Assert.Contains("public.unreachable could not start: Failed to connect to 127.0.0.1:1", warning.Message, StringComparison.Ordinal);
        var failure = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal(1, failure.Value);
        Assert.Equal("Npgsql.NpgsqlException", failure.Tags["error.type"]);
        Assert.Equal("public.unreachable", failure.Tags["db.collection.name"]);
    }

    [Fact]
    public async Task While_PostgreSQL_stays_unreachable_each_run_warns_and_the_waits_back_off()
    {
        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = "Host=127.0.0.1;Port=1;Timeout=1", TableName = "unreachable" });
        var time = new FakeTimeProvider();
        var options = new MutableOptionsMonitor<PostgresCleanupOptions>(new PostgresCleanupOptions { Interval = TimeSpan.FromMinutes(1), Jitter = 0 });
        var cleanerLogger = new FakeLogger<PostgresSessionCleaner>();
        var cleaner = new PostgresSessionCleaner(cache, options, cleanerLogger, time, null);
        var logger = new FakeLogger<PostgresCleanupService>();
        using var service = new PostgresCleanupService(() => cleaner, options, time, logger, random: () => 0.5);

        await service.StartAsync(Token);
        await AdvanceUntilAsync(time, () => Task.FromResult(logger.Collector.GetSnapshot().Count(r => r.Id.Id == SessionStoreEventIds.CleanupBackingOff) >= 3));
        await service.StopAsync(Token);

        var backOffs = logger.Collector.GetSnapshot().Where(r => r.Id.Id == SessionStoreEventIds.CleanupBackingOff).Take(3).Select(r => r.Message).ToList();
        Assert.Equal(
            ["Cleanup failed 2 runs in a row; the next run is in 120 s.", "Cleanup failed 3 runs in a row; the next run is in 240 s.", "Cleanup failed 4 runs in a row; the next run is in 480 s."],
            backOffs);
        Assert.True(cleanerLogger.Collector.GetSnapshot().Count(r => r.Id.Id == SessionStoreEventIds.CleanupCouldNotStart && r.Level == LogLevel.Warning) >= 4);
        Assert.True(service.ExecuteTask!.IsCompletedSuccessfully);
    }

    /// <summary>Moves the fake clock on in steps, since the service may not have started waiting yet.</summary>
    private static Task AdvanceUntilAsync(FakeTimeProvider time, Func<Task<bool>> condition) =>
        PostgresSessionCleanerTests.WaitUntilAsync(async () =>
        {
            time.Advance(TimeSpan.FromSeconds(20));
            return await condition();
        });
}
