namespace SessionStore.DualWrite;

/// <summary>Counts since the application started, for status pages and rehearsals; the same figures are published as metrics.</summary>
/// <param name="Phase">The phase in force.</param>
/// <param name="SecondaryFailures">Secondary operations that failed or timed out (logged, never thrown).</param>
/// <param name="ReadRepairs">Entries copied between stores: primary misses found in the secondary, and entries missing in the secondary.</param>
/// <param name="Mismatches">Confirmed differences, by kind.</param>
/// <param name="PrimaryReadFailovers">Reads answered by the secondary because the primary failed.</param>
public sealed record DualWriteStatistics(
    SessionStorePhase Phase,
    long SecondaryFailures,
    long ReadRepairs,
    IReadOnlyDictionary<SessionMismatchKind, long> Mismatches,
    long PrimaryReadFailovers);
