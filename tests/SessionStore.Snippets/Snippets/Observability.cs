#region observability-wiring
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using SessionStore;
#endregion

namespace DocsSnippets.Snippets;

internal static class Observability
{
    public static void Run(WebApplicationBuilder builder)
    {
        #region observability-wiring
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddSource(SessionStoreTracing.ActivitySourceName)   // "SessionStore"
                .AddSource("Npgsql")                                 // Npgsql's own spans, children of SessionStore's
                .AddConsoleExporter())                               // or .AddOtlpExporter()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddMeter(SessionStoreMetrics.MeterName)             // "SessionStore"
                .AddConsoleExporter());
        #endregion
    }
}
