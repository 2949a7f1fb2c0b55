using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SessionStore.Sample.Dashboard;

/// <summary>The migration dashboard: <c>/dashboard</c> (a page of charts) and <c>/dashboard/data</c> (what it polls every second).</summary>
public static class MigrationDashboardExtensions
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private static readonly Lazy<string> Page = new(ReadPage);

    /// <summary>Starts collecting what the dashboard shows: latencies from the <c>SessionStore</c> meter, counters, the fleet.</summary>
    /// <param name="services">The application's services, with <c>AddDualWriteSessionStore</c>.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddMigrationDashboard(this IServiceCollection services)
    {
        services.AddSingleton(provider => new OperationLatencies(provider.GetRequiredService<IMeterFactory>()));
        services.AddSingleton<FleetWatch>();
        services.AddSingleton<DashboardSampler>();
        services.AddHostedService(provider => provider.GetRequiredService<DashboardSampler>());
        return services;
    }

    /// <summary>Maps <c>/dashboard</c> and <c>/dashboard/data</c>.</summary>
    /// <param name="app">The application, with <see cref="AddMigrationDashboard"/> called on its services.</param>
    /// <returns>The application, for chaining.</returns>
    public static IEndpointRouteBuilder MapMigrationDashboard(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/dashboard", () => Results.Content(Page.Value, "text/html; charset=utf-8"));
        app.MapGet("/dashboard/data", (DashboardSampler sampler) => Results.Json(sampler.Snapshot(), Json));
        return app;
    }

    private static string ReadPage()
    {
        using var stream = typeof(MigrationDashboardExtensions).Assembly.GetManifestResourceStream("SessionStore.Sample.Dashboard.dashboard.html")
            ?? throw new InvalidOperationException("The dashboard page is not embedded in the sample's assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
