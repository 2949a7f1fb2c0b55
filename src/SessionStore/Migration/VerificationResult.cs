using SessionStore.DualWrite;

namespace SessionStore.Migration;

/// <summary>What a <see cref="SessionStoreVerifier"/> run found.</summary>
public sealed class VerificationResult
{
    internal VerificationResult(SessionStorePhase phase, bool postgresIsPrimary, long redisLiveSessions, long postgresLiveSessions, double countTolerance, long compared, long unconfirmed, IReadOnlyDictionary<SessionMismatchKind, long> mismatches, long? onlyInSecondary, long? userIdDiffers)
    {
        Phase = phase;
        PostgresIsPrimary = postgresIsPrimary;
        RedisLiveSessions = redisLiveSessions;
        PostgresLiveSessions = postgresLiveSessions;
        CountTolerance = countTolerance;
        AllowedCountGap = (long)Math.Ceiling(Math.Max(redisLiveSessions, postgresLiveSessions) * countTolerance);
        Compared = compared;
        Unconfirmed = unconfirmed;
        Mismatches = mismatches;
        OnlyInSecondary = onlyInSecondary;
        UserIdDiffers = userIdDiffers;
    }

    /// <summary>The phase the comparison assumed: it decides which store is the primary, the one held to be right.</summary>
    public SessionStorePhase Phase { get; }

    /// <summary>Whether PostgreSQL was the primary (else Redis).</summary>
    public bool PostgresIsPrimary { get; }

    /// <summary>Live sessions under the Redis instance prefix (per-user index keys not counted).</summary>
    public long RedisLiveSessions { get; }

    /// <summary>Live rows in the session table.</summary>
    public long PostgresLiveSessions { get; }

    /// <summary>The <see cref="VerificationOptions.CountTolerance"/> the verdict applied.</summary>
    public double CountTolerance { get; }

    /// <summary>The largest count gap the verdict accepts: <see cref="CountTolerance"/> of the larger count, rounded up.</summary>
    public long AllowedCountGap { get; }

    /// <summary>How far apart the two live-session counts are.</summary>
    public long CountGap => Math.Abs(RedisLiveSessions - PostgresLiveSessions);

    /// <summary>
    /// Whether the counts are within <see cref="AllowedCountGap"/> of each other. A store that holds no session
    /// beside one that does is never close, whatever the tolerance: it lost its sessions (a Redis restarted empty)
    /// or was never filled, and the gap rounded up to one session hid a store holding one.
    /// </summary>
    public bool CountsAreClose => CountGap <= AllowedCountGap && (RedisLiveSessions == 0) == (PostgresLiveSessions == 0);

    /// <summary>Sessions of the primary compared with the secondary.</summary>
    public long Compared { get; }

    /// <summary>Sessions that differed at the first read but agreed when read again (a write in flight, not a mismatch).</summary>
    public long Unconfirmed { get; }

    /// <summary>Confirmed mismatches per kind, every kind listed, judged by the rules of <see cref="DualWriteCache"/>'s comparison.</summary>
    public IReadOnlyDictionary<SessionMismatchKind, long> Mismatches { get; }

    /// <summary>
    /// Live sessions of the secondary that the primary lacks (signed out or lost there without the secondary hearing
    /// of it), confirmed like a mismatch; null when only a sample was compared. They are not harmless: while the
    /// secondary is read (read-repair, failover) or once it is primary, they are served again.
    /// </summary>
    public long? OnlyInSecondary { get; }

    /// <summary>
    /// Compared sessions whose PostgreSQL row records no user, or another, than the session names under
    /// <c>UserIdSessionKey</c> (a copy made without the application's key, or with another), confirmed like a
    /// mismatch; null when no <c>UserIdSessionKey</c> is set, as nothing about users is then compared. Once
    /// PostgreSQL is primary, "log out everywhere" finds sessions by that record and misses these. Backfill and
    /// sync, run with the application's key, correct them.
    /// </summary>
    public long? UserIdDiffers { get; }

    /// <summary>
    /// Whether neither store holds a live session under the Redis instance name and table given: two empty stores
    /// agree about nothing, and a mistyped instance name or table looks at two empty stores.
    /// </summary>
    public bool BothEmpty => RedisLiveSessions == 0 && PostgresLiveSessions == 0;

    /// <summary>
    /// True when the stores hold sessions, no mismatch was confirmed, the secondary holds no session the primary
    /// lacks, no PostgreSQL row records another user than its session names, and the live counts are close: the
    /// stores agree well enough to move to the next phase.
    /// </summary>
    public bool IsReadyForNextPhase => !BothEmpty && CountsAreClose && Mismatches.Values.All(count => count == 0) && OnlyInSecondary is null or 0 && UserIdDiffers is null or 0;
}
