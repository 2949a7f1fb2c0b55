using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace SessionStore.Sample;

/// <summary>
/// OpenTelemetry for the sample: SessionStore's metrics and traces, with ASP.NET Core's request spans as their
/// parents and Npgsql's spans as their children. The console exporter needs no collector; it is on in
/// Development (<c>dotnet run</c>) and wherever <c>Telemetry:Console</c> is true, and off elsewhere (the rehearsal
/// drives thousands of requests). A real app swaps it for <c>UseOtlpExporter()</c> (OpenTelemetry.Exporter.OpenTelemetryProtocol).
/// </summary>
public static class SampleTelemetry
{
    /// <summary>Registers the sample's OpenTelemetry tracing and metrics.</summary>
    /// <param name="builder">The application's builder.</param>
    public static void AddSampleTelemetry(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var console = builder.Configuration.GetValue("Telemetry:Console", builder.Environment.IsDevelopment());
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation().AddSource(SessionStoreTracing.ActivitySourceName, "Npgsql");
                if (console)
                {
                    tracing.AddConsoleExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddMeter(SessionStoreMetrics.MeterName);
                if (console)
                {
                    metrics.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 60_000);
                }
            });
    }
}
