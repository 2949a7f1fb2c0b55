using System.Diagnostics;
using System.Globalization;
using SessionStore.DualWrite;

namespace SessionStore.Rehearsal;

/// <summary>
/// One phase's (or one rolling switch's) traffic: new visitors sign in, then every session is requested round by
/// round, so that every session is touched in every round and no session has two requests in flight.
/// </summary>
internal static class PhaseTraffic
{
    /// <param name="options">Sign-ins, rounds and concurrency.</param>
    /// <param name="http">The client.</param>
    /// <param name="address">Where each request goes: one application, or an instance of the fleet picked per request.</param>
    /// <param name="sessions">The sessions followed so far; the new ones are added.</param>
    /// <param name="phase">The phase the sessions' requests are chosen for (<see cref="SimulatedSession.Next"/>).</param>
    /// <param name="step">Names the new users and items, and counts a lost session once in it.</param>
    /// <param name="describe">The stage's description for the monitor.</param>
    /// <param name="monitor">Told about progress.</param>
    /// <param name="cancellationToken">Stops it.</param>
    public static async Task<TrafficCounts> RunAsync(
        RehearsalOptions options, HttpClient http, Func<Uri> address, List<SimulatedSession> sessions, SessionStorePhase phase, int step,
        string describe, IRehearsalMonitor monitor, CancellationToken cancellationToken)
    {
        var signIns = Enumerable.Range(0, options.NewSessionsPerPhase)
            .Select(i => (Session: new SimulatedSession(SessionKind.Changing), User: string.Create(CultureInfo.InvariantCulture, $"user-{step}.{i}")))
            .ToList();
        monitor.StageStarted(describe, signIns.Count + ((sessions.Count + signIns.Count) * options.RoundsPerPhase));

        int requests = 0, failed = 0, lost = 0;
        async ValueTask Send(SimulatedSession session, Request request, CancellationToken token)
        {
            var outcome = await SessionTraffic.SendAsync(http, address(), session, request, token);
            Interlocked.Increment(ref requests);
            if (outcome == RequestOutcome.Failed)
            {
                Interlocked.Increment(ref failed);
            }
            else if (outcome == RequestOutcome.Lost && session.MarkLost(step))
            {
                Interlocked.Increment(ref lost);
            }

            monitor.StepDone();
        }

        await Parallel.ForEachAsync(signIns, SessionTraffic.Parallelism(options, cancellationToken), (entry, token) => Send(entry.Session, entry.Session.SignIn(entry.User), token));
        sessions.AddRange(signIns.Select(entry => entry.Session));
        for (var round = 0; round < options.RoundsPerPhase; round++)
        {
            var order = sessions.ToArray();
            Random.Shared.Shuffle(order);
            await Parallel.ForEachAsync(order, SessionTraffic.Parallelism(options, cancellationToken), (session, token) => Send(session, session.Next(phase, step, round), token));
        }

        return new TrafficCounts(requests, failed, lost);
    }

    /// <summary>
    /// Waits until no cache has a background comparison pending: the comparisons (and the repairs they make) of a
    /// stage's reads land in that stage, before the next switch changes which store answers. A fixed pause was not
    /// enough on a loaded machine, where a comparison could start after it.
    /// </summary>
    /// <exception cref="TimeoutException">Comparisons were still pending after <see cref="RehearsalOptions.SettleTimeout"/>.</exception>
    public static async Task WaitForComparisonsAsync(RehearsalOptions options, IReadOnlyCollection<DualWriteCache> caches, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (caches.Sum(cache => cache.GetStatistics().PendingComparisons) is var pending and > 0)
        {
            if (Stopwatch.GetElapsedTime(started) > options.SettleTimeout)
            {
                throw new TimeoutException($"{pending} background comparison(s) still pending after {options.SettleTimeout.TotalSeconds:0.#} s (RehearsalOptions.SettleTimeout).");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
    }
}
