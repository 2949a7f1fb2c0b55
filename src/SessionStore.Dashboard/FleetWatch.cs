using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.Fleet;
using SessionStore.Postgres;

namespace SessionStore.Dashboard;

/// <summary>Reads the fleet table every few seconds for the dashboard; heartbeats are written every 15 seconds by default, so more often shows nothing new.</summary>
internal sealed class FleetWatch(IOptionsMonitor<SessionStoreOptions> store, IOptions<SessionStoreFleetOptions> fleet) : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    // SessionStoreFleet.ReadAsync would open a data source (and a new connection) per read without one of ours.
    private (string ConnectionString, NpgsqlDataSource DataSource)? _ownDataSource;

    // The settings of the last read (at first, those the application started with), kept for reads after a reload
    // the store refuses: one right after start-up came before the first read.
    private PostgresSessionCacheOptions? _lastValid = store.CurrentValue.Postgres is var atStart && atStart.Validate().Count == 0 ? atStart : null;

    // A read the watch stopped waiting for; no other starts until it ends, so a hung server holds one connection.
    private Task<IReadOnlyList<FleetInstance>>? _reading;

    public FleetView Current { get; private set; } = new(null, [], "Not read yet.");

    /// <summary>This instance's name, as the heartbeat writes it.</summary>
    public string InstanceName { get; } = fleet.Value.InstanceName ?? $"{Environment.MachineName}:{Environment.ProcessId}";

    public async Task RunAsync(TimeProvider time, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            Current = await ReadAsync(time, stopping).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownDataSource is { DataSource: var dataSource })
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<FleetView> ReadAsync(TimeProvider time, CancellationToken stopping)
    {
        if (!fleet.Value.Enabled)
        {
            return new FleetView(time.GetUtcNow(), [], "The fleet heartbeat is disabled (SessionStoreFleetOptions.Enabled).");
        }

        var postgres = store.CurrentValue.Postgres;
        if (postgres.DataSource is null && string.IsNullOrWhiteSpace(postgres.ConnectionString))
        {
            return new FleetView(time.GetUtcNow(), [], "PostgreSQL is not configured: there is no fleet table.");
        }

        // A reload the store refuses leaves the last valid settings in force, as it does for the cache: an
        // unreadable connection string would otherwise throw from the data source's builder and end the watch.
        if (postgres.Validate() is [var problem, ..])
        {
            postgres = _lastValid;
            if (postgres is null)
            {
                return new FleetView(time.GetUtcNow(), Current.Instances, $"The PostgreSQL settings cannot be used to read the fleet table: {problem}");
            }
        }

        _lastValid = postgres;

        if (_reading is { IsCompleted: false })
        {
            return new FleetView(time.GetUtcNow(), Current.Instances, "The previous read of the fleet table is still waiting for PostgreSQL.");
        }

        try
        {
            var options = new PostgresSessionCacheOptions
            {
                DataSource = postgres.DataSource ?? DataSourceFor(postgres.ConnectionString!),
                SchemaName = postgres.SchemaName,
                TableName = postgres.TableName,
            };

            // Npgsql never gets a token: it answers one with a cancel request sent from the cancelling thread, which
            // a hung server holds (a timer thread every 3 s, the host's stop). The read is waited for, then left.
            _reading = SessionStoreFleet.ReadAsync(options, fleet.Value.StaleAfter, CancellationToken.None);
            _ = _reading.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var instances = await _reading.WaitAsync(ReadTimeout, time, stopping).ConfigureAwait(false);
            var rows = instances
                .Select(i => new FleetRow(i.InstanceId, i.Phase, i.LastHeartbeat, i.HeartbeatAge.TotalSeconds, i.IsStale, i.InstanceId == InstanceName))
                .ToList();
            return new FleetView(time.GetUtcNow(), rows, null);
        }
        catch (TimeoutException)
        {
            return new FleetView(time.GetUtcNow(), Current.Instances, $"Reading the fleet table took over {ReadTimeout.TotalSeconds:0} s.");
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return new FleetView(time.GetUtcNow(), Current.Instances, e.Message);
        }
    }

    private NpgsqlDataSource DataSourceFor(string connectionString)
    {
        if (_ownDataSource is { } own && own.ConnectionString == connectionString)
        {
            return own.DataSource;
        }

        // The old one is left to the garbage collector rather than disposed under a read that may still use it. No
        // wait for the answer to the cancel request of a command timeout, which a hung server never gives.
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { CancellationTimeout = -1 });
        _ownDataSource = (connectionString, dataSource);
        return dataSource;
    }
}
