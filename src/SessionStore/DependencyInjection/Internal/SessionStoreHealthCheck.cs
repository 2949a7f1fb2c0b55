using Microsoft.Extensions.Diagnostics.HealthChecks;
using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;
using SessionStore.Fleet.Internal;
using SessionStore.Internal;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>
/// Unhealthy when the primary store cannot be reached or its table cannot be read; degraded when only the
/// secondary of a dual phase cannot, while a store's circuit breaker is open, or while keys wait to be copied to
/// a store that missed them, or while this instance's phase is out of line with the fleet's. Each store is given at most <see cref="SessionStoreOptions.HealthCheckTimeout"/>, so
/// a hung server cannot hang the health endpoint; the checks pass through the stores' breakers and can be the
/// probe that closes one.
/// </summary>
internal sealed class SessionStoreHealthCheck(DualWriteCache cache, FleetHeartbeatService fleet) : IHealthCheck
{
    // Read through the whole store path, so that a missing table (which a bare ping does not notice) is reported.
    private const string ProbeKey = "sessionstore:health-probe";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        Route route;
        try
        {
            route = cache.CurrentRoute();
        }
        catch (Exception e) when (e is StoreUnavailableException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"The session store cannot work in phase {cache.Phase}: {e.Message}", e);
        }

        var timeout = cache.Settings.HealthCheckTimeout;
        var data = new Dictionary<string, object> { ["phase"] = route.Phase.ToString(), ["primary"] = route.Primary.Name };
        if (await CheckAsync(route.Primary, route.PrimaryKind, timeout, cancellationToken).ConfigureAwait(false) is { } primaryProblem)
        {
            return HealthCheckResult.Unhealthy($"The primary session store ({route.Primary.Name}) does not work in phase {route.Phase}: {primaryProblem.Message}", primaryProblem, data);
        }

        var problems = new List<string>();
        if (fleet.PhaseWarning is { } outOfLine)
        {
            problems.Add(outOfLine);
        }

        Exception? secondaryProblem = null;
        if (route.Secondary is { } secondary)
        {
            data["secondary"] = secondary.Name;
            secondaryProblem = await CheckAsync(secondary, route.SecondaryKind!.Value, timeout, cancellationToken).ConfigureAwait(false);
            if (secondaryProblem is not null)
            {
                problems.Add($"The secondary session store ({secondary.Name}) does not work in phase {route.Phase}: {secondaryProblem.Message} Requests are served; its copies fall behind.");
            }
        }

        foreach (var kind in new[] { StoreKind.Redis, StoreKind.Postgres })
        {
            var (breaker, backlog, revocations) = cache.StateOf(kind);
            var name = PhaseRoles.NameOf(kind);
            data[$"{name}.breaker"] = breaker.State.ToString();
            data[$"{name}.catch_up_backlog"] = backlog.Count;
            if (breaker.State != DualWriteBreakerState.Closed)
            {
                problems.Add($"The circuit breaker of {name} is {breaker.State}: calls to it are not being made.");
            }

            if (backlog.Count > 0)
            {
                problems.Add($"{backlog.Count} keys wait to be copied to {name}, which missed their writes.");
            }

            if (revocations > 0)
            {
                problems.Add($"{revocations} users' \"log out everywhere\" wait to be made in {name}, which missed them.");
            }

            if (backlog.Overflow > 0)
            {
                problems.Add($"{backlog.Overflow} missed keys of {name} overflowed the catch-up backlog: run 'sessionstore sync'.");
            }
        }

        return problems.Count > 0
            ? HealthCheckResult.Degraded(string.Join(" ", problems), secondaryProblem, data)
            : HealthCheckResult.Healthy(route.Secondary is null ? $"Phase {route.Phase}: {route.Primary.Name} answers." : $"Phase {route.Phase}: {route.Primary.Name} and {route.Secondary.Name} answer.", data);
    }

    /// <summary>The store's problem, or null when it answers a ping and a read in time.</summary>
    private async Task<Exception?> CheckAsync(ISessionCacheProvider store, StoreKind kind, TimeSpan timeout, CancellationToken token)
    {
        try
        {
            await cache.PingAsync(store, kind, timeout, token).ConfigureAwait(false);
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token);
            bounded.CancelAfter(timeout);
            await store.GetEntryAsync(ProbeKey, async: true, bounded.Token).AsTask().WaitAsync(timeout, token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (!token.IsCancellationRequested)
        {
            return e;
        }
    }
}
