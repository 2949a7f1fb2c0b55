using System.Globalization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Session;

namespace SessionStore.Rehearsal;

/// <summary>The simulated visitors' requests, shared by the single-application and the fleet rehearsal.</summary>
internal static class SessionTraffic
{
    /// <summary>Sends one request with the session's cookie, keeps any cookie issued, and judges the page that comes back.</summary>
    public static async Task<RequestOutcome> SendAsync(HttpClient http, Uri address, SimulatedSession session, Request request, CancellationToken cancellationToken)
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
                return RequestOutcome.Failed;
            }

            return await response.Content.ReadAsStringAsync(cancellationToken) == session.Expected ? RequestOutcome.Kept : RequestOutcome.Lost;
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return RequestOutcome.Failed;
        }
    }

    /// <summary>Signs sessions in, counts a visit and fills their carts through the pre-migration application.</summary>
    public static async Task<List<SimulatedSession>> SeedAsync(
        RehearsalOptions options, HttpClient http, string? instanceName, IDataProtectionProvider dataProtection, IRehearsalMonitor monitor, CancellationToken cancellationToken)
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
        monitor.StageStarted(string.Create(CultureInfo.InvariantCulture, $"Seeding {sessions.Count:N0} sessions through Microsoft's RedisCache"), sessions.Count);
        var failures = 0;
        await Parallel.ForEachAsync(sessions.Select((session, i) => (session, i)), Parallelism(options, cancellationToken), async (entry, token) =>
        {
            var (session, i) = entry;
            foreach (var request in new[] { session.SignIn($"seed-{i}"), session.Visit(), session.AddToCart($"seed-{i}.a"), session.AddToCart($"seed-{i}.b") })
            {
                if (await SendAsync(http, address, session, request, token) != RequestOutcome.Kept)
                {
                    Interlocked.Increment(ref failures);
                }
            }

            monitor.StepDone();
        });
        await legacy.StopAsync(cancellationToken);
        return failures == 0
            ? sessions
            : throw new InvalidOperationException($"{failures} seeding requests to the RedisCache application were not answered as expected; the rehearsal cannot start from a known state.");
    }

    public static ParallelOptions Parallelism(RehearsalOptions options, CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken };

    /// <summary>An HTTP client for the rehearsal: no cookie container (each simulated session carries its own cookie).</summary>
    public static HttpClient CreateClient(RehearsalOptions options) =>
        new(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = options.Concurrency }) { Timeout = TimeSpan.FromSeconds(30) };
}
