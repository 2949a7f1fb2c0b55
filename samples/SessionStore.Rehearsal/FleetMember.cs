using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.DualWrite;
using SessionStore.Fleet;
using SessionStore.Sample;

namespace SessionStore.Rehearsal;

/// <summary>
/// One application instance of the fleet: the sample in a host of its own (its own container, its own phase source,
/// its own heartbeat), as one of several servers behind a load balancer would be.
/// </summary>
internal sealed class FleetMember : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly PhaseSwitch _phaseSwitch;

    private FleetMember(string name, WebApplication app, PhaseSwitch phaseSwitch)
    {
        Name = name;
        _app = app;
        _phaseSwitch = phaseSwitch;
        Cache = app.Services.GetRequiredService<DualWriteCache>();
        Address = new Uri(app.Urls.First());
    }

    /// <summary>The instance's name in the fleet table.</summary>
    public string Name { get; }

    public DualWriteCache Cache { get; }

    /// <summary>Where it listens.</summary>
    public Uri Address { get; }

    public static async Task<FleetMember> StartAsync(
        string name, SessionStorePhase phase, IEnumerable<KeyValuePair<string, string?>> settings, IDataProtectionProvider dataProtection, TimeSpan heartbeatInterval, CancellationToken cancellationToken)
    {
        var phaseSwitch = new PhaseSwitch(phase);
        var app = await SampleApp.BuildAsync(
            ["--urls", "http://127.0.0.1:0", "--contentRoot", AppContext.BaseDirectory, "--environment", "Production"],
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(settings);
                builder.Configuration.Sources.Add(phaseSwitch);

                // A fleet shares one key ring, so that a cookie issued by one instance opens its session on every other.
                builder.Services.AddSingleton(dataProtection);
                builder.Services.Configure<SessionStoreFleetOptions>(fleet =>
                {
                    fleet.InstanceName = name;
                    fleet.HeartbeatInterval = heartbeatInterval;
                    fleet.StaleAfter = heartbeatInterval * 5;
                });
            });
        try
        {
            await app.StartAsync(cancellationToken);
            return new FleetMember(name, app, phaseSwitch);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Changes the phase live, through configuration, as a redeploy of this one instance with new settings would.</summary>
    public void Enter(SessionStorePhase phase)
    {
        _phaseSwitch.Enter(phase);
        if (Cache.Phase != phase)
        {
            throw new InvalidOperationException($"Instance {Name} did not enter {phase}; it is in {Cache.Phase}. Its log says why.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Stopped first, so that the heartbeat service takes the instance out of the fleet table.
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
