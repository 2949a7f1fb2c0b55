using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SessionStore.Cleanup;
using SessionStore.Cleanup.Internal;
using SessionStore.Tests.Cleanup;
using SessionStore.Fleet;
using SessionStore.Fleet.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Faults;

/// <summary>
/// The hosted services <c>AddDualWriteSessionStore</c> registers stop promptly while PostgreSQL is hung (SIGSTOP)
/// under one of their statements. Npgsql answers a cancelled token with a cancel request sent from the cancelling
/// thread, which the hung server held: the host's stop took 10 to 60 s, whatever its shutdown timeout.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungPostgresShutdownTests(FaultServers servers, ITestOutputHelper output)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_cleanup_service_stops_at_once_while_its_run_waits_on_a_hung_server()
    {
        using var cache = await CacheOnNewTableAsync();
        var options = new MutableOptionsMonitor<PostgresCleanupOptions>(new PostgresCleanupOptions { Interval = TimeSpan.FromSeconds(1), Jitter = 0 });
        var cleaner = new PostgresSessionCleaner(cache, options, NullLogger<PostgresSessionCleaner>.Instance, TimeProvider.System, null);
        await cleaner.RunOnceAsync(Token); // a pooled connection, so that the next run's statements reach the server
        using var service = new PostgresCleanupService(() => cleaner, options, TimeProvider.System, NullLogger<PostgresCleanupService>.Instance, random: () => 0);
        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();

        await service.StartAsync(Token);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token); // the first run starts after a second, and hangs
        var stopping = Stopwatch.StartNew();
        await service.StopAsync(Token);
        var stopped = stopping.Elapsed;
        await freezer.ThawAsync();

        output.WriteLine($"Cleanup service stopped {stopped.TotalMilliseconds:0} ms after it was asked to, its run hung on PostgreSQL.");
        Assert.InRange(stopped, TimeSpan.Zero, HungServerTiming.Slack);
        Assert.True(service.ExecuteTask!.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_cleanup_run_called_directly_returns_at_once_when_cancelled_while_the_server_is_hung()
    {
        using var cache = await CacheOnNewTableAsync();
        var cleaner = new PostgresSessionCleaner(cache, new MutableOptionsMonitor<PostgresCleanupOptions>(new PostgresCleanupOptions()), NullLogger<PostgresSessionCleaner>.Instance, TimeProvider.System, null);
        await cleaner.RunOnceAsync(Token); // a pooled connection, so that the next run's statements reach the server
        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();

        // As a job scheduler would call it, with its own token.
        var latency = await HungServerTiming.CancellationLatencyAsync(cleaner.RunOnceAsync, TimeSpan.FromMilliseconds(300));
        await freezer.ThawAsync();

        output.WriteLine($"A direct cleanup run returned {latency.TotalMilliseconds:0} ms after its token was cancelled, the server hung.");
        Assert.InRange(latency, TimeSpan.Zero, HungServerTiming.Slack);
    }

    [Fact]
    public async Task The_fleet_heartbeat_stops_within_its_operation_timeout_while_the_server_is_hung()
    {
        var table = await NewTableAsync();
        await using var heartbeat = new FleetHeartbeatService(
            () => SessionStorePhase.DualWriteRedisPrimary,
            new FleetHeartbeatService.PostgresConnection(servers.PostgresConnectionString, null, "public", table),
            new SessionStoreFleetOptions { InstanceName = "web-1", HeartbeatInterval = TimeSpan.FromMilliseconds(200) },
            TimeProvider.System,
            NullLogger<FleetHeartbeatService>.Instance);
        await heartbeat.StartAsync(Token);
        await Task.Delay(TimeSpan.FromMilliseconds(500), Token); // beating, with pooled connections
        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(500), Token); // a beat now waits on the hung server

        var stopping = Stopwatch.StartNew();
        await heartbeat.StopAsync(Token);
        var stopped = stopping.Elapsed;
        await freezer.ThawAsync();

        // The beat under way is abandoned at once; leaving the fleet table waits its 5 s operation timeout.
        output.WriteLine($"Fleet heartbeat stopped {stopped.TotalMilliseconds:0} ms after it was asked to, PostgreSQL hung.");
        Assert.InRange(stopped, TimeSpan.Zero, TimeSpan.FromSeconds(5) + HungServerTiming.Slack);
    }

    [Fact]
    public async Task The_dashboards_fleet_watch_stops_at_once_while_its_read_waits_on_a_hung_server()
    {
        var table = await NewTableAsync();
        var store = new MutableOptionsMonitor<SessionStoreOptions>(new SessionStoreOptions { Postgres = { ConnectionString = servers.PostgresConnectionString, TableName = table } });
        await using var watch = new SessionStore.Dashboard.FleetWatch(store, Microsoft.Extensions.Options.Options.Create(new SessionStoreFleetOptions()));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var stop = new CancellationTokenSource();
        var running = watch.RunAsync(time, stop.Token);
        while (watch.Current.ReadAt is null)
        {
            await Task.Delay(20, Token);
        }

        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();
        time.Advance(TimeSpan.FromSeconds(3)); // the next read starts, and waits on the hung server
        await Task.Delay(200, Token);

        var stopping = Stopwatch.StartNew();
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        var stopped = stopping.Elapsed;
        await freezer.ThawAsync();

        output.WriteLine($"Fleet watch stopped {stopped.TotalMilliseconds:0} ms after it was asked to, its read hung on PostgreSQL.");
        Assert.InRange(stopped, TimeSpan.Zero, HungServerTiming.Slack);
    }

    /// <summary>A cache on a table of its own, whose timeout (30 s) no test waits for.</summary>
    private async Task<PostgresSessionCache> CacheOnNewTableAsync() => new(new PostgresSessionCacheOptions
    {
        ConnectionString = servers.PostgresConnectionString,
        TableName = await NewTableAsync(),
        OperationTimeout = TimeSpan.FromSeconds(30),
    });

    /// <summary>A session table (and its fleet table) of the test's own, created while the server answers.</summary>
    private async Task<string> NewTableAsync()
    {
        var table = PostgresServer.UniqueTableName("hungstop");
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(servers.PostgresConnectionString);
        await new PostgresSchemaMigrator(dataSource, "public", table).MigrateAsync(Token);
        return table;
    }
}
