using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Session;
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
                builder.Configuration.AddInMemoryCollection(SampleSettings());
                builder.Configuration.Sources.Add(phaseSwitch);
                builder.Services.AddSingleton<IDataProtectionProvider>(dataProtection);
            });
        var instanceName = app.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue.Redis.InstanceName;

        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = options.Concurrency })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var seeded = await SeedAsync(http, instanceName, dataProtection, cancellationToken);
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

    private Dictionary<string, string?> SampleSettings()
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

    /// <summary>Signs sessions in, counts a visit and fills their carts through the pre-migration application.</summary>
    private async Task<List<SimulatedSession>> SeedAsync(HttpClient http, string? instanceName, IDataProtectionProvider dataProtection, CancellationToken cancellationToken)
    {
        var sessions = new[]
        {
            (SessionKind.ReadOnly, options.ReadOnlySessions),
            (SessionKind.Changing, options.ModifiedSessions),
            (SessionKind.ChangedInPostgresOnly, options.ChangedInPostgresOnlySessions),
        }.SelectMany(group => Enumerable.Range(0, group.Item2).Select(_ => new SimulatedSession(group.Item1))).ToList();

        await using var legacy = LegacyApp.Build(options.RedisConfiguration!, instanceName, dataProtection);
        await legacy.StartAsync(cancellationToken);
        var address = new Uri(legacy.Urls.First());
        _monitor.StageStarted(string.Create(CultureInfo.InvariantCulture, $"Seeding {sessions.Count:N0} sessions through Microsoft's RedisCache"), sessions.Count);
        var failures = 0;
        await Parallel.ForEachAsync(sessions.Select((session, i) => (session, i)), Parallelism(cancellationToken), async (entry, token) =>
        {
            var (session, i) = entry;
            foreach (var request in new[] { session.SignIn($"seed-{i}"), session.Visit(), session.AddToCart($"seed-{i}.a"), session.AddToCart($"seed-{i}.b") })
            {
                if (await SendAsync(http, address, session, request, token) != Outcome.Kept)
                {
                    Interlocked.Increment(ref failures);
                }
            }

            _monitor.StepDone();
        });
        await legacy.StopAsync(cancellationToken);
        return failures == 0
            ? sessions
            : throw new InvalidOperationException($"{failures} seeding requests to the RedisCache application were not answered as expected; the rehearsal cannot start from a known state.");
    }

    private async Task<PhaseReport> RunPhaseAsync(
        HttpClient http, Uri sample, int step, SessionStorePhase phase, List<SimulatedSession> sessions,
        DualWriteCache cache, StoreLatencies latencies, CancellationToken cancellationToken)
    {
        var before = cache.GetStatistics();
        latencies.Restart();
        var signIns = Enumerable.Range(0, options.NewSessionsPerPhase)
            .Select(i => (Session: new SimulatedSession(SessionKind.Changing), User: $"user-{step}.{i}"))
            .ToList();
        _monitor.StageStarted($"{step}/{Route.Count} {phase}", signIns.Count + ((sessions.Count + signIns.Count) * options.RoundsPerPhase));

        int requests = 0, failed = 0, lost = 0;
        async ValueTask Send(SimulatedSession session, Request request, CancellationToken token)
        {
            var outcome = await SendAsync(http, sample, session, request, token);
            Interlocked.Increment(ref requests);
            if (outcome == Outcome.Failed)
            {
                Interlocked.Increment(ref failed);
            }
            else if (outcome == Outcome.Lost && session.MarkLost(step))
            {
                Interlocked.Increment(ref lost);
            }

            _monitor.StepDone();
        }

        await Parallel.ForEachAsync(signIns, Parallelism(cancellationToken), (entry, token) => Send(entry.Session, entry.Session.SignIn(entry.User), token));
        sessions.AddRange(signIns.Select(entry => entry.Session));

        // Round by round, so that every session is touched in every round and no session has two requests in flight.
        for (var round = 0; round < options.RoundsPerPhase; round++)
        {
            var order = sessions.ToArray();
            Random.Shared.Shuffle(order);
            await Parallel.ForEachAsync(order, Parallelism(cancellationToken), (session, token) => Send(session, session.Next(phase, step, round), token));
        }

        // Comparisons run in the background after the response; let the last ones finish (and their repairs land)
        // before the next phase changes which store answers.
        await Task.Delay(options.SettleDelay, cancellationToken);
        var after = cache.GetStatistics();
        return new PhaseReport(
            step,
            phase,
            requests,
            failed,
            lost,
            after.Mismatches.ToDictionary(entry => entry.Key, entry => entry.Value - before.Mismatches.GetValueOrDefault(entry.Key)),
            after.ReadRepairs - before.ReadRepairs,
            after.SecondaryFailures - before.SecondaryFailures,
            latencies.Restart());
    }

    private static async Task<Outcome> SendAsync(HttpClient http, Uri address, SimulatedSession session, Request request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, new Uri(address, request.Path));
        if (session.Cookie is { } cookie)
        {
            message.Headers.Add("Cookie", cookie);
        }

        request.Apply();
        try
        {
            using var response = await http.SendAsync(message, cancellationToken);
            if (response.Headers.TryGetValues("Set-Cookie", out var setCookies)
                && setCookies.Select(c => c.Split(';')[0]).FirstOrDefault(c => c.StartsWith(SessionDefaults.CookieName + "=", StringComparison.Ordinal)) is { } issued)
            {
                session.Cookie = issued;
            }

            if (!response.IsSuccessStatusCode)
            {
                return Outcome.Failed;
            }

            return await response.Content.ReadAsStringAsync(cancellationToken) == session.Expected ? Outcome.Kept : Outcome.Lost;
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return Outcome.Failed;
        }
    }

    private ParallelOptions Parallelism(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken };

    private enum Outcome
    {
        Kept,
        Lost,
        Failed,
    }
}
