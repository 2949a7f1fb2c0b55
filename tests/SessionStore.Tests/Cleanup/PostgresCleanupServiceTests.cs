using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SessionStore.Cleanup;
using SessionStore.Cleanup.Internal;
using SessionStore.Tests.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cleanup;

public sealed class PostgresCleanupServiceTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Runs_on_its_interval_and_does_nothing_while_disabled()
    {
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        var time = new FakeTimeProvider();
        var options = new MutableOptionsMonitor<PostgresCleanupOptions>(new PostgresCleanupOptions { Enabled = false, Interval = TimeSpan.FromMinutes(1), Jitter = 0 });
        var cleaner = new PostgresSessionCleaner(table.Cache, options, new FakeLogger<PostgresSessionCleaner>(), time, null);
        var logger = new FakeLogger<PostgresCleanupService>();
        using var service = new PostgresCleanupService(() => cleaner, options, time, logger, random: () => 0.5);
        await PostgresSessionCleanerTests.InsertRowsAsync(table, "expired", 10, "now() - interval '1 minute'");

        await service.StartAsync(Token);
        await AdvanceUntilAsync(time, () => Task.FromResult(logger.Collector.Count > 0));
        Assert.Equal(SessionStoreEventIds.CleanupDisabled, logger.LatestRecord.Id.Id);
        Assert.Equal(10L, await table.ScalarAsync<long>("SELECT count(*) FROM {table}"));

        // Read at every run: enabling it takes effect at the next one, without a restart.
        options.CurrentValue = new PostgresCleanupOptions { Enabled = true, Interval = TimeSpan.FromMinutes(1), Jitter = 0 };
        await AdvanceUntilAsync(time, async () => await table.ScalarAsync<long>("SELECT count(*) FROM {table}") == 0);

        await service.StopAsync(Token);
        Assert.True(service.ExecuteTask!.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task The_registration_uses_the_caches_table_and_starts_with_the_host()
    {
        using var table = new PostgresTestTable(server);
        await table.Cache.EnsureSchemaReadyAsync(Token);
        await PostgresSessionCleanerTests.InsertRowsAsync(table, "expired", 10, "now() - interval '1 minute'");
        var time = new FakeTimeProvider();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddPostgresSessionCache(o => (o.ConnectionString, o.TableName) = (table.Options.ConnectionString, table.Options.TableName));
        builder.Services.AddPostgresSessionCleanup(o => o.Interval = TimeSpan.FromMinutes(1));
        using var host = builder.Build();

        await host.StartAsync(Token);
        await AdvanceUntilAsync(time, async () => await table.ScalarAsync<long>("SELECT count(*) FROM {table}") == 0);
        await host.StopAsync(Token);

        Assert.Single(host.Services.GetServices<IHostedService>().OfType<PostgresCleanupService>());
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_at_start_up_with_each_problem_named()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPostgresSessionCache(o => o.ConnectionString = server.ConnectionString);
        builder.Services.AddPostgresSessionCleanup(o => (o.BatchSize, o.Jitter) = (0, 0.9));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));

        Assert.Contains("BatchSize is 0; it must be between 1 and 100000.", error.Failures);
        Assert.Contains("Jitter is 0.9; it must be between 0 and 0.5.", error.Failures);
    }

    /// <summary>Moves the fake clock on in small steps, since the service may not have started waiting yet.</summary>
    private static Task AdvanceUntilAsync(FakeTimeProvider time, Func<Task<bool>> condition) =>
        PostgresSessionCleanerTests.WaitUntilAsync(async () =>
        {
            time.Advance(TimeSpan.FromSeconds(5));
            return await condition();
        });
}
