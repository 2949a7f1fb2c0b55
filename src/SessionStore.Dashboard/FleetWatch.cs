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

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(ReadTimeout);
        try
        {
            var options = new PostgresSessionCacheOptions
            {
                DataSource = postgres.DataSource ?? DataSourceFor(postgres.ConnectionString!),
                SchemaName = postgres.SchemaName,
                TableName = postgres.TableName,
            };
            var instances = await SessionStoreFleet.ReadAsync(options, fleet.Value.StaleAfter, timeout.Token).ConfigureAwait(false);
            var rows = instances
                .Select(i => new FleetRow(i.InstanceId, i.Phase, i.LastHeartbeat, i.HeartbeatAge.TotalSeconds, i.IsStale, i.InstanceId == InstanceName))
                .ToList();
            return new FleetView(time.GetUtcNow(), rows, null);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException || (e is OperationCanceledException && !stopping.IsCancellationRequested))
        {
            return new FleetView(time.GetUtcNow(), Current.Instances, e is OperationCanceledException ? $"Reading the fleet table took over {ReadTimeout.TotalSeconds:0} s." : e.Message);
        }
    }

    private NpgsqlDataSource DataSourceFor(string connectionString)
    {
        if (_ownDataSource is { } own && own.ConnectionString == connectionString)
        {
            return own.DataSource;
        }

        // The old one is left to the garbage collector rather than disposed under a read that may still use it.
        var dataSource = NpgsqlDataSource.Create(connectionString);
        _ownDataSource = (connectionString, dataSource);
        return dataSource;
    }
}
