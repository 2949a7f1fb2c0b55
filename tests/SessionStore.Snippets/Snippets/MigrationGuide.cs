#region migration-monitoring
using OpenTelemetry.Metrics;   // packages OpenTelemetry.Extensions.Hosting and an exporter
using SessionStore;
#endregion

namespace DocsSnippets.Snippets;

internal static class MigrationGuide
{
    public static void StepZero(WebApplicationBuilder builder)
    {
        #region migration-step-0
        // before: builder.Services.AddStackExchangeRedisCache(o => { o.Configuration = …; o.InstanceName = "myapp:"; });
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        builder.Services.AddSession();
        #endregion
    }

    public static void Monitoring(WebApplicationBuilder builder)
    {
        #region migration-monitoring
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(SessionStoreMetrics.MeterName).AddConsoleExporter());
        var app = builder.Build();
        app.MapHealthChecks("/health");   // "sessionstore": Unhealthy when the primary (or its table) fails; Degraded when the
                                          // secondary fails, a breaker is open, or keys wait to be copied. Bounded by HealthCheckTimeout.
        #endregion
    }
}
