#region metrics
using OpenTelemetry.Metrics;   // packages OpenTelemetry.Extensions.Hosting and an exporter, here OpenTelemetry.Exporter.Console
using SessionStore;
#endregion

namespace DocsSnippets.Snippets;

internal static class Metrics
{
    public static void Run(WebApplicationBuilder builder)
    {
        #region metrics
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(SessionStoreMetrics.MeterName)   // "SessionStore": the dual-write counters, per-store durations
            .AddConsoleExporter());                    // or AddOtlpExporter() (OpenTelemetry.Exporter.OpenTelemetryProtocol)
        #endregion
    }
}
