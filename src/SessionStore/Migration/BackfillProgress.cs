using System.Text.Json.Serialization;

namespace SessionStore.Migration;

/// <summary>How far a <see cref="RedisToPostgresBackfill"/> or <see cref="SessionStoreSync"/> run has got; the final value is its summary.</summary>
/// <remarks>Counts include those of the interrupted runs a resumed run continues.</remarks>
public sealed class BackfillProgress
{
    /// <summary>Keys listed in the source (for Redis, by the SCAN of the instance prefix, the per-user index keys left out).</summary>
    [JsonInclude]
    public long Scanned { get; internal set; }

    /// <summary>Sessions the target lacked, written to it (and still in the source after the write).</summary>
    [JsonInclude]
    public long Copied { get; internal set; }

    /// <summary>Sync only: sessions the target held older (another value or lifetime), replaced by the source's.</summary>
    [JsonInclude]
    public long Replaced { get; internal set; }

    /// <summary>
    /// Sessions the target already held: for a backfill, any live copy (never overwritten, as a dual-written copy is
    /// newer); for sync, an equal copy, or one the application rewrote while it was being copied.
    /// </summary>
    [JsonInclude]
    public long AlreadyPresent { get; internal set; }

    /// <summary>
    /// PostgreSQL rows holding the session the source holds, but recorded under no user or another than the session
    /// names under <c>UserIdSessionKey</c> (copied without the application's key, or with another): "log out
    /// everywhere" missed them. Their <c>user_id</c> was corrected in place, nothing else; counted besides what was
    /// done with the session's copy (in the target: <see cref="AlreadyPresent"/>). Always 0 without a <c>UserIdSessionKey</c>.
    /// </summary>
    [JsonInclude]
    public long UserIdsCorrected { get; internal set; }

    /// <summary>Keys skipped because they expired or vanished before they were read, or are not <c>RedisCache</c> entries.</summary>
    [JsonInclude]
    public long Skipped { get; internal set; }

    /// <summary>Copies deleted again because the session left the source while it was copied: a logged-out session stays out.</summary>
    [JsonInclude]
    public long ResurrectionsAvoided { get; internal set; }

    /// <summary>Sessions that could not be written (e.g. a key longer than PostgreSQL's 255 characters).</summary>
    [JsonInclude]
    public long Errors { get; internal set; }

    /// <summary>An estimate of the keys to list in all (the database size of Redis, an upper bound; the live rows of PostgreSQL).</summary>
    [JsonInclude]
    public long EstimatedTotal { get; internal set; }

    /// <summary>Whether this run continued from a checkpoint.</summary>
    public bool Resumed { get; internal set; }

    /// <summary>
    /// Whether every session of the source was listed: a whole pass reached the end of the listing while the source's
    /// topology held still. False when a Redis Cluster's slots moved or a failover happened during each of the
    /// <see cref="BackfillOptions.MaxPasses"/> passes: sessions may have been missed; run again, or verify.
    /// </summary>
    public bool Completed { get; internal set; }

    /// <summary>
    /// How many passes over the source the run made: 1, plus one for each pass during which a Redis Cluster's
    /// topology changed (slots moved, a failover); the counts add up over the passes.
    /// </summary>
    public int Passes { get; internal set; }

    /// <summary>Whether the source's topology changed during a pass (slots moved between Redis Cluster nodes, a failover).</summary>
    public bool TopologyChanged { get; internal set; }

    /// <summary>Keys listed in this run alone (<see cref="Scanned"/> counts those of the runs it resumes too): the run's rate is this over <see cref="Elapsed"/>.</summary>
    public long ScannedThisRun { get; internal set; }

    /// <summary>Time spent in this run.</summary>
    public TimeSpan Elapsed { get; internal set; }

    internal BackfillProgress Snapshot() => (BackfillProgress)MemberwiseClone();
}
