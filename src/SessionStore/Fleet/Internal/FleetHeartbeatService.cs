using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.DualWrite;
using SessionStore.Internal;
using SessionStore.Postgres;

namespace SessionStore.Fleet.Internal;

/// <summary>
/// Writes this instance's phase and a heartbeat to the fleet table, and compares its phase with the phase the other
/// live instances run: more than one step apart, a session written by one is read stale by the other, so it says so
/// loudly (an error in the log, <see cref="PhaseWarning"/> for the health check) until the phases are in line again.
/// </summary>
internal sealed partial class FleetHeartbeatService : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);

    private readonly Func<SessionStorePhase> _phase;
    private readonly SessionStoreFleetOptions _options;
    private readonly Lazy<(FleetTable Table, NpgsqlDataSource? Owned)>? _table;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _instanceId;
    private CancellationTokenSource? _stopping;
    private Task? _loop;
    private Task? _pending;
    private volatile string? _phaseWarning;
    private bool _failing;
    private int _disposed;

    public FleetHeartbeatService(Func<SessionStorePhase> phase, PostgresConnection? postgres, SessionStoreFleetOptions options, TimeProvider time, ILogger<FleetHeartbeatService> logger)
    {
        _phase = phase;
        _options = options;
        _time = time;
        _logger = logger;
        _instanceId = options.ResolvedInstanceName;
        if (postgres is { } connection)
        {
            _table = new(() =>
            {
                // Built as the cache builds the source of the statements it abandons: no command timeout (whose cancel
                // request would block a thread against a hung server) and no wait for a cancel request's answer.
                var owned = connection.DataSource is null
                    ? PostgresSessionCache.BuildDataSource(connection.ConnectionString!, OperationTimeout, forStatementsTheCacheAbandons: true)
                    : null;
                return (new FleetTable(owned ?? connection.DataSource!, connection.SchemaName, connection.TableName), owned);
            });
        }
    }

    /// <summary>The PostgreSQL settings the fleet table needs, taken from the session store's.</summary>
    internal sealed record PostgresConnection(string? ConnectionString, NpgsqlDataSource? DataSource, string SchemaName, string TableName);

    /// <summary>Why this instance's phase is out of line with the fleet's; null while it is in line (or nothing is known).</summary>
    internal string? PhaseWarning => _phaseWarning;

    internal string InstanceId => _instanceId;

    /// <summary>Built from the application's services, as <c>AddDualWriteSessionStore</c> registers them.</summary>
    public static FleetHeartbeatService Create(IServiceProvider provider)
    {
        var options = provider.GetService<IOptions<SessionStoreFleetOptions>>()?.Value ?? new SessionStoreFleetOptions();
        if (options.Validate() is { Count: > 0 } failures)
        {
            throw new OptionsValidationException(nameof(SessionStoreFleetOptions), typeof(SessionStoreFleetOptions), failures);
        }

        var store = provider.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.Postgres;
        var postgres = options.Enabled && store.Validate().Count == 0
            ? new PostgresConnection(store.ConnectionString, store.DataSource, store.SchemaName, store.TableName)
            : null;
        var cache = provider.GetRequiredService<DualWriteCache>();
        return new FleetHeartbeatService(
            () => cache.Phase,
            postgres,
            options,
            provider.GetService<TimeProvider>() ?? TimeProvider.System,
            provider.GetService<ILogger<FleetHeartbeatService>>() ?? NullLogger<FleetHeartbeatService>.Instance);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_table is null)
        {
            return Task.CompletedTask;
        }

        _stopping = new CancellationTokenSource();
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null || _loop is null || _stopping.IsCancellationRequested)
        {
            return;
        }

        // The loop's calls are abandoned, not cancelled (CallAsync): it ends at once, however hung the server.
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);

        // A graceful stop leaves the fleet at once; a crash leaves a row that `status` marks stale.
        try
        {
            await CallAsync("fleet leave", async table =>
            {
                await table.RemoveAsync(_instanceId, CancellationToken.None).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsFleetFailure(e))
        {
            LogHeartbeatFailed(e.Message);
        }
    }

    /// <summary>One heartbeat and phase check; the loop calls it every interval, tests call it directly.</summary>
    internal async Task BeatAsync(CancellationToken cancellationToken)
    {
        var phase = _phase();
        var fleet = await CallAsync("fleet heartbeat", async table =>
        {
            await table.HeartbeatAsync(_instanceId, phase, CancellationToken.None).ConfigureAwait(false);
            return await table.ReadAsync(_options.StaleAfter, CancellationToken.None).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        Judge(phase, fleet);
    }

    /// <summary>
    /// A call on the fleet table, waited for at most <see cref="OperationTimeout"/> and while
    /// <paramref name="token"/> is not cancelled (<see cref="StoreDeadline"/>). Npgsql never gets the token: it
    /// answers one with a cancel request sent from the cancelling thread, which a hung server held for a minute
    /// (the host's stop, measured). The call is abandoned instead, and ends when the server answers or its
    /// connection breaks.
    /// </summary>
    /// <remarks>
    /// While an abandoned call still waits (a server that answers nothing, a lock held on the fleet table), the next
    /// is not sent: one connection at most is held, however long the wait.
    /// </remarks>
    private async Task<T> CallAsync<T>(string operation, Func<FleetTable, Task<T>> call, CancellationToken token)
    {
        if (_pending is { IsCompleted: false })
        {
            throw new InvalidOperationException($"The fleet table's previous call is still waiting for PostgreSQL; {operation} was not sent.");
        }

        var sent = call(_table!.Value.Table);
        _pending = sent;
        return await StoreDeadline.RunAsync("postgresql", operation, "fleet table", OperationTimeout, _ => new ValueTask<T>(sent), token).ConfigureAwait(false);
    }

    /// <summary>What a fleet-table call may fail with while the heartbeat goes on: the fleet view is a help, not a dependency.</summary>
    private static bool IsFleetFailure(Exception e) =>
        e is NpgsqlException or InvalidOperationException or ObjectDisposedException or TimeoutException or OperationCanceledException;

    public async ValueTask DisposeAsync()
    {
        // Registered as itself and as a hosted service, the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // A host stops its services first; a container disposed without a host must not leave the loop running.
        if (_stopping is not null && _loop is not null && !_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
        }

        _stopping?.Dispose();
        if (_table is { IsValueCreated: true, Value.Owned: { } owned })
        {
            await owned.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            await CallAsync("fleet prune", async table =>
            {
                await table.PruneAsync(CancellationToken.None).ConfigureAwait(false);
                return true;
            }, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (IsFleetFailure(e))
        {
            // Stopping: whatever ended the call. Otherwise the first heartbeat reports the same failure.
            if (stopping.IsCancellationRequested)
            {
                return;
            }
        }

        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await BeatAsync(stopping).ConfigureAwait(false);
                _failing = false;
            }
            catch (Exception e) when (IsFleetFailure(e))
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }

                // Logged once per outage, not every interval: the fleet view is a help, not a dependency.
                if (!_failing)
                {
                    if (e is InvalidOperationException { InnerException: PostgresException { SqlState: PostgresErrorCodes.UndefinedTable } })
                    {
                        LogTableMissing(e.Message); // expected until the table is migrated to schema version 4
                    }
                    else
                    {
                        LogHeartbeatFailed(e.Message);
                    }

                    _failing = true;
                }
            }

            try
            {
                await Task.Delay(_options.HeartbeatInterval, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Judge(SessionStorePhase phase, IReadOnlyList<FleetInstance> fleet)
    {
        var others = fleet.Where(i => !i.IsStale && i.InstanceId != _instanceId).ToList();
        if (SessionStoreFleet.PhaseOfTheOthers(fleet, _instanceId, phase) is not { } fleetPhase
            || SessionStoreFleet.Steps(phase, fleetPhase) <= 1)
        {
            if (_phaseWarning is not null)
            {
                LogPhaseInLine(_instanceId, phase);
            }

            _phaseWarning = null;
            return;
        }

        var warning =
            $"This instance ({_instanceId}) runs phase {phase}, {SessionStoreFleet.Steps(phase, fleetPhase)} steps from {fleetPhase}, which " +
            $"{others.Count(i => i.Phase == fleetPhase)} of the {others.Count} other live instance(s) run: sessions one writes, the other reads stale or not at all. " +
            "Move one step at a time (RedisOnly, DualWriteRedisPrimary, DualWritePostgresPrimary, PostgresOnly); see `sessionstore status`.";
        if (_phaseWarning != warning)
        {
            LogPhaseOutOfLine(warning);
        }

        _phaseWarning = warning;
    }
}
