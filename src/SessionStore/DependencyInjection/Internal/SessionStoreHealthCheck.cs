using Microsoft.Extensions.Diagnostics.HealthChecks;
using SessionStore.DualWrite;
using SessionStore.Fleet.Internal;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>Unhealthy when the primary store cannot be reached; degraded when only the secondary of a dual phase cannot.</summary>
internal sealed class SessionStoreHealthCheck(DualWriteCache cache, FleetHeartbeatService fleet) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var phase = cache.Phase;
        var (primary, secondary) = cache.CurrentStores();
        var data = new Dictionary<string, object> { ["phase"] = phase.ToString(), ["primary"] = primary.Name };
        try
        {
            await primary.PingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy($"The primary session store ({primary.Name}) cannot be reached in phase {phase}.", e, data);
        }

        if (fleet.PhaseWarning is { } outOfLine)
        {
            return HealthCheckResult.Degraded(outOfLine, data: data);
        }

        if (secondary is null)
        {
            return HealthCheckResult.Healthy($"Phase {phase}: {primary.Name} answers.", data);
        }

        data["secondary"] = secondary.Name;
        try
        {
            await secondary.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"Phase {phase}: {primary.Name} and {secondary.Name} answer.", data);
        }
        catch (Exception e)
        {
            return HealthCheckResult.Degraded($"The secondary session store ({secondary.Name}) cannot be reached in phase {phase}; requests are served, its copies fall behind.", e, data);
        }
    }
}
