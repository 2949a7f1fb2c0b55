using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SessionStore.DualWrite;
using SessionStore.Sample;

namespace SessionStore.Rehearsal;

/// <summary>
/// Rehearses a migration on real servers: seeds sessions through Microsoft's RedisCache, then drives the sample
/// application over HTTP through every phase to PostgresOnly and all the way back, switching the phase live
/// through configuration, and checks after every request that the session still holds what was put in it.
/// </summary>
/// <param name="options">The servers and the size of the rehearsal.</param>
/// <param name="monitor">Told about progress; null for none.</param>
public sealed class MigrationRehearsal(RehearsalOptions options, IRehearsalMonitor? monitor = null)
{
    /// <summary>The phases in the order they are entered: forward to PostgresOnly, then back to RedisOnly.</summary>
    public static IReadOnlyList<SessionStorePhase> Route { get; } =
    [
        SessionStorePhase.RedisOnly,
        SessionStorePhase.DualWriteRedisPrimary,
        SessionStorePhase.DualWritePostgresPrimary,
        SessionStorePhase.PostgresOnly,
        SessionStorePhase.DualWritePostgresPrimary,
        SessionStorePhase.DualWriteRedisPrimary,
        SessionStorePhase.RedisOnly,
    ];

    /// <summary>Errors only: the cache logs each mismatch as a warning, and mismatches are expected and counted here.</summary>
    internal static IEnumerable<KeyValuePair<string, string?>> QuietLogging { get; } =
    [
        new("Logging:LogLevel:Default", "Error"),
        new("Logging:LogLevel:Microsoft.AspNetCore", "Error"),
    ];

    private readonly IRehearsalMonitor _monitor = monitor ?? IRehearsalMonitor.None;

    /// <summary>Runs the rehearsal.</summary>
    /// <param name="cancellationToken">Stops it.</param>
    /// <returns>What each phase did and cost.</returns>
    public async Task<RehearsalReport> RunAsync(CancellationToken cancellationToken = default)
    {
        options.Validate();
        var started = Stopwatch.GetTimestamp();
        var phaseSwitch = new PhaseSwitch(Route[0]);

        // One key ring for the seeding application and the sample: a session cookie issued before the migration
        // must still open its session after it, as it would in one application that is redeployed.
        var dataProtection = new EphemeralDataProtectionProvider();
        await using var app = await SampleApp.BuildAsync(
            ["--urls", "http://127.0.0.1:0", "--contentRoot", AppContext.BaseDirectory, "--environment", "Production"],
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(SampleSettings(options));
                builder.Configuration.Sources.Add(phaseSwitch);
                builder.Services.AddSingleton<IDataProtectionProvider>(dataProtection);
            });
        var instanceName = app.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.Redis.InstanceName;

        using var http = SessionTraffic.CreateClient(options);
        var seeded = await SessionTraffic.SeedAsync(options, http, instanceName, dataProtection, _monitor, cancellationToken);
        var sessions = new List<SimulatedSession>(seeded);

        await app.StartAsync(cancellationToken);
        var sample = new Uri(app.Urls.First());
        var cache = app.Services.GetRequiredService<DualWriteCache>();
        using var latencies = new StoreLatencies(app.Services.GetRequiredService<IMeterFactory>());
        var reports = new List<PhaseReport>();
        for (var step = 1; step <= Route.Count; step++)
        {
            var phase = Route[step - 1];
            phaseSwitch.Enter(phase);
            if (cache.Phase != phase)
            {
                throw new InvalidOperationException($"The sample did not enter {phase}; it is in {cache.Phase}. Its log says why.");
            }

            reports.Add(await RunPhaseAsync(http, sample, step, phase, sessions, cache, latencies, cancellationToken));
        }

        await app.StopAsync(cancellationToken);
        return new RehearsalReport(seeded.Count, sessions.Count, reports, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The sample's settings for a rehearsal: the servers, a comparison of every primary hit, the table and key prefix asked for.</summary>
    internal static Dictionary<string, string?> SampleSettings(RehearsalOptions options)
    {
        var settings = new Dictionary<string, string?>(QuietLogging)
        {
            [$"{SessionStoreOptions.SectionName}:{LocalStores.PostgresKey}"] = options.PostgresConnectionString,
            [$"{SessionStoreOptions.SectionName}:{LocalStores.RedisKey}"] = options.RedisConfiguration,

            // Every primary hit is compared with the secondary a moment later (best effort under extreme load), so
            // differences between the stores surface within the phase that has them.
            [$"{SessionStoreOptions.SectionName}:{nameof(SessionStoreOptions.ComparisonSampleRate)}"] = "1",
        };
        if (options.TableName is { } table)
        {
            settings[$"{SessionStoreOptions.SectionName}:Postgres:TableName"] = table;
        }

        if (options.InstanceName is { } instance)
        {
            settings[$"{SessionStoreOptions.SectionName}:Redis:InstanceName"] = instance;
        }

        return settings;
    }

    private async Task<PhaseReport> RunPhaseAsync(
        HttpClient http, Uri sample, int step, SessionStorePhase phase, List<SimulatedSession> sessions,
        DualWriteCache cache, StoreLatencies latencies, CancellationToken cancellationToken)
    {
        var before = cache.GetStatistics();
        latencies.Restart();
        var (requests, failed, lost) = await PhaseTraffic.RunAsync(
            options, http, () => sample, sessions, phase, step, $"{step}/{Route.Count} {phase}", _monitor, cancellationToken);

        // Comparisons run in the background after the response; their latencies and repairs belong to this phase.
        await PhaseTraffic.WaitForComparisonsAsync(options, [cache], cancellationToken);
        var after = cache.GetStatistics();
        return new PhaseReport(
            step,
            phase,
            requests,
            failed,
            lost,
            after.Mismatches.ToDictionary(entry => entry.Key, entry => entry.Value - before.Mismatches.GetValueOrDefault(entry.Key)),
            after.Comparisons - before.Comparisons,
            after.ComparisonsInFlux - before.ComparisonsInFlux,
            after.ReadRepairs - before.ReadRepairs,
            after.SecondaryFailures - before.SecondaryFailures,
            latencies.Restart());
    }
}
