using SessionStore.DualWrite;

namespace SessionStore.Rehearsal;

/// <summary>Percentiles of one store's operation durations in one phase.</summary>
/// <param name="Operations">How many operations were measured.</param>
/// <param name="P50Milliseconds">The median.</param>
/// <param name="P99Milliseconds">The 99th percentile.</param>
public sealed record Latency(long Operations, double P50Milliseconds, double P99Milliseconds);

/// <summary>What one phase of the rehearsal did and cost.</summary>
/// <param name="Step">The phase's place on <see cref="MigrationRehearsal.Route"/>, from 1.</param>
/// <param name="Phase">The phase.</param>
/// <param name="Requests">Session requests sent.</param>
/// <param name="FailedRequests">Requests that got no successful answer.</param>
/// <param name="SessionsLost">Sessions found without the values the rehearsal had put in them.</param>
/// <param name="Mismatches">Differences between the stores that the cache confirmed, by kind.</param>
/// <param name="Compared">Sampled comparisons that ended with a verdict (equal, or a mismatch).</param>
/// <param name="ComparedInFlux">Sampled comparisons that ended without one: a copy was written meanwhile.</param>
/// <param name="ReadRepairs">Entries the cache copied from one store to the other.</param>
/// <param name="SecondaryFailures">Secondary-store operations that failed or timed out.</param>
/// <param name="Latencies">Store operation durations, by store (<c>redis</c>, <c>postgresql</c>).</param>
public sealed record PhaseReport(
    int Step,
    SessionStorePhase Phase,
    int Requests,
    int FailedRequests,
    int SessionsLost,
    IReadOnlyDictionary<SessionMismatchKind, long> Mismatches,
    long Compared,
    long ComparedInFlux,
    long ReadRepairs,
    long SecondaryFailures,
    IReadOnlyDictionary<string, Latency> Latencies);

/// <summary>The outcome of a rehearsal.</summary>
/// <param name="SeededSessions">Sessions written through Microsoft's RedisCache before the migration started.</param>
/// <param name="Sessions">Every session the rehearsal followed, seeded and new.</param>
/// <param name="Phases">One report per phase, in the order of <see cref="MigrationRehearsal.Route"/>.</param>
/// <param name="Elapsed">How long it took, seeding included.</param>
public sealed record RehearsalReport(int SeededSessions, int Sessions, IReadOnlyList<PhaseReport> Phases, TimeSpan Elapsed)
{
    /// <summary>Sessions lost, added over the phases (a session lost in one phase counts again in each later phase it is still wrong in).</summary>
    public int SessionsLost => Phases.Sum(phase => phase.SessionsLost);

    /// <summary>Requests that got no successful answer, over all phases.</summary>
    public int FailedRequests => Phases.Sum(phase => phase.FailedRequests);

    /// <summary>True when no session was lost and every request was answered.</summary>
    public bool Passed => SessionsLost == 0 && FailedRequests == 0;
}
