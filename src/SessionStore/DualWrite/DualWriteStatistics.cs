namespace SessionStore.DualWrite;

/// <summary>Counts since the application started, for status pages and rehearsals; the same figures are published as metrics.</summary>
/// <param name="Phase">The phase in force.</param>
/// <param name="SecondaryFailures">Secondary operations that failed, timed out, or were skipped while the store's circuit breaker was open (never thrown).</param>
/// <param name="ReadRepairs">Entries copied between stores: primary misses found in the secondary, and entries missing in the secondary.</param>
/// <param name="Mismatches">Confirmed differences, by kind.</param>
/// <param name="PrimaryReadFailovers">Reads answered by the secondary because the primary failed.</param>
public sealed record DualWriteStatistics(
    SessionStorePhase Phase,
    long SecondaryFailures,
    long ReadRepairs,
    IReadOnlyDictionary<SessionMismatchKind, long> Mismatches,
    long PrimaryReadFailovers)
{
    /// <summary>Each store's circuit breaker, by store name (<c>redis</c>, <c>postgresql</c>).</summary>
    public IReadOnlyDictionary<string, DualWriteBreakerState> Breakers { get; init; } = new Dictionary<string, DualWriteBreakerState>();

    /// <summary>Keys each store missed writes for and that wait to be copied to it, by store name.</summary>
    public IReadOnlyDictionary<string, long> CatchUpBacklog { get; init; } = new Dictionary<string, long>();

    /// <summary>Missed keys not remembered because a backlog was full: run <c>sessionstore sync</c> when this is not zero.</summary>
    public long CatchUpOverflow { get; init; }

    /// <summary>Missed keys brought up to date in the store that missed them.</summary>
    public long CatchUpReplayed { get; init; }

    /// <summary>
    /// Sampled reads whose background comparison with the secondary (and the repair it may make) has not ended yet.
    /// Zero once every comparison sampled so far is done: a rehearsal waits for it before it switches phase.
    /// </summary>
    public long PendingComparisons { get; init; }

    /// <summary>Sampled comparisons that ended with a verdict: the copies were equal, or differed (also counted in <see cref="Mismatches"/>).</summary>
    public long Comparisons { get; init; }

    /// <summary>
    /// Sampled comparisons that ended without a verdict because a copy was written meanwhile (the session's writes
    /// carry it to both stores). Busy sessions land here; when most comparisons do, the sample says little about the
    /// stores' agreement: run <c>sessionstore verify</c> at a quiet hour.
    /// </summary>
    public long ComparisonsInFlux { get; init; }
}
