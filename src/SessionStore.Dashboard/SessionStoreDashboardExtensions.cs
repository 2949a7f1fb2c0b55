using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SessionStore.DualWrite;

namespace SessionStore.Dashboard;

/// <summary>
/// The migration dashboard of <see cref="DualWriteCache"/>: a page of charts and the data it polls every second.
/// It shows operational data (instance names, phases, error messages), so protect it like any admin page.
/// </summary>
public static class SessionStoreDashboardExtensions
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private static readonly Lazy<string> Page = new(ReadPage);

    /// <summary>
    /// Starts collecting what the dashboard shows: latencies from the <c>SessionStore</c> meter, the
    /// <see cref="DualWriteCache"/>'s counters once a second, and the fleet table every few seconds.
    /// </summary>
    /// <param name="services">The application's services; <c>AddDualWriteSessionStore</c> must be called on them too.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddSessionStoreDashboard(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new OperationLatencies(provider.GetRequiredService<IMeterFactory>()));
        services.TryAddSingleton<FleetWatch>();
        services.TryAddSingleton(provider => new DashboardSampler(
            provider.GetService<DualWriteCache>() ?? throw new InvalidOperationException(
                "The SessionStore dashboard shows a DualWriteCache migration, but none is registered: call services.AddDualWriteSessionStore(...) as well as services.AddSessionStoreDashboard()."),
            provider.GetRequiredService<OperationLatencies>(),
            provider.GetRequiredService<FleetWatch>(),
            provider.GetRequiredService<TimeProvider>()));
        services.AddHostedService(provider => provider.GetRequiredService<DashboardSampler>());
        return services;
    }

    /// <summary>
    /// Maps the dashboard's page at <paramref name="pattern"/> and its data at <c>{pattern}/data</c>. The data names
    /// instances and shows error messages: call <c>RequireAuthorization</c> on the returned builder.
    /// </summary>
    /// <param name="endpoints">The application, with <see cref="AddSessionStoreDashboard"/> called on its services.</param>
    /// <param name="pattern">Where the page is served; <c>/dashboard</c> unless given.</param>
    /// <returns>The conventions of both endpoints, e.g. for <c>.RequireAuthorization("admin")</c>.</returns>
    public static IEndpointConventionBuilder MapSessionStoreDashboard(this IEndpointRouteBuilder endpoints, string pattern = "/dashboard")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        if (!pattern.StartsWith('/'))
        {
            throw new ArgumentException($"The dashboard's pattern must start with '/', e.g. \"/dashboard\"; it was \"{pattern}\".", nameof(pattern));
        }

        var group = endpoints.MapGroup(pattern);
        group.MapGet("", () => Results.Content(Page.Value, "text/html; charset=utf-8"));
        group.MapGet("data", (DashboardSampler sampler) => Results.Json(sampler.Snapshot(), Json));
        return group;
    }

    private static string ReadPage()
    {
        using var stream = typeof(SessionStoreDashboardExtensions).Assembly.GetManifestResourceStream("SessionStore.Dashboard.dashboard.html")
            ?? throw new InvalidOperationException("The dashboard page is not embedded in SessionStore.Dashboard's assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
