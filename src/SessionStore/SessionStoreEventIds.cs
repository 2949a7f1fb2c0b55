namespace SessionStore;

/// <summary>
/// The event ids SessionStore logs with, so that alerts and filters can name them. Ranges: 1xxx PostgreSQL,
/// 2xxx Redis, 3xxx dual-write, 4xxx cleanup, 5xxx migration tools and the fleet view.
/// </summary>
public static class SessionStoreEventIds
{
    /// <summary>A stored row could not be decoded; the read was answered as a miss.</summary>
    public const int PostgresUndecodableRow = 1001;

    /// <summary>The cache created or upgraded its table on first use.</summary>
    public const int PostgresSchemaMigrated = 1002;

    /// <summary>
    /// Creating a partitioned table's partitions ahead, on first use, waited 250 ms for the table's lock and was left
    /// to the cleanup service.
    /// </summary>
    public const int PostgresPartitionsPostponed = 1003;

    /// <summary>
    /// On first use, a relation derived from the session table was missing (dropped by hand) and the cache left it to
    /// <c>sessionstore migrate</c>: making it again would build an index on the table in use, or the table's lock was
    /// not granted within 250 ms. A warning.
    /// </summary>
    public const int PostgresRelationsMissing = 1004;

    /// <summary>The database clock differs from the application clock by more than a second; logged once per cache.</summary>
    public const int PostgresClockSkew = 1050;

    /// <summary>The Redis server refuses scripts; the cache fell back to plain commands for good.</summary>
    public const int RedisScriptingUnavailable = 2001;

    /// <summary>A touch extended a session but not its user's index (the server refused, a cluster node did not answer); the read succeeded. A warning.</summary>
    public const int RedisUserIndexNotExtended = 2002;

    /// <summary>A Redis Cluster refused a command without running it while slots moved or a replica took over (MOVED, ASK, EXECABORT, TRYAGAIN, CLUSTERDOWN); it is retried within the operation timeout. Debug level.</summary>
    public const int RedisRetriedWhileClusterChanges = 2300;

    /// <summary>A secondary-store operation failed or timed out; logged at <see cref="SessionStoreOptions.SecondaryFailureLogLevel"/>.</summary>
    public const int DualWriteSecondaryFailed = 3001;

    /// <summary>A read failed on the primary and was answered from the secondary.</summary>
    public const int DualWriteReadFailover = 3002;

    /// <summary>A confirmed difference between the stores.</summary>
    public const int DualWriteMismatch = 3003;

    /// <summary>A background comparison could not complete (a store was unreachable).</summary>
    public const int DualWriteComparisonFailed = 3004;

    /// <summary>The phase changed.</summary>
    public const int DualWritePhaseChanged = 3005;

    /// <summary>A configured phase was refused (invalid, or a store it needs is not configured); the previous phase stays.</summary>
    public const int DualWritePhaseRefused = 3006;

    /// <summary>The phase in force and where its value came from, logged at start-up.</summary>
    public const int DualWritePhaseInForce = 3010;

    /// <summary>A store could not be built from its settings (e.g. a malformed connection string); the message names the setting.</summary>
    public const int DualWriteStoreUnavailable = 3011;

    /// <summary>A store's circuit breaker opened: calls to it stop until a probe succeeds.</summary>
    public const int DualWriteBreakerOpened = 3012;

    /// <summary>A store's circuit breaker closed again; the keys it missed are copied to it in the background.</summary>
    public const int DualWriteBreakerClosed = 3013;

    /// <summary>The catch-up backlog of a store is full; further missed keys are only counted.</summary>
    public const int DualWriteCatchUpOverflow = 3014;

    /// <summary>A store's catch-up finished: the keys it missed were copied to it.</summary>
    public const int DualWriteCatchUpCompleted = 3015;

    /// <summary>A store was built again because a reload changed its connection settings (a table, a connection string, an instance name): it now reads and writes elsewhere. A warning.</summary>
    public const int DualWriteStoreRebuilt = 3016;

    /// <summary>
    /// A background read of the store a comparison or a catch-up copies from (mostly the primary) failed or timed out: not a
    /// secondary failure, nothing was changed; the comparison is dropped, a copy waits for a later catch-up. Debug level.
    /// </summary>
    public const int DualWriteSourceReadFailed = 3017;

    /// <summary><see cref="SessionStoreOptions.OnMismatch"/> threw; the mismatch was counted, logged (3003) and repaired all the same. A warning.</summary>
    public const int DualWriteMismatchCallbackFailed = 3018;

    /// <summary>A cleanup run finished; the message says how much it deleted and dropped.</summary>
    public const int CleanupRunCompleted = 4001;

    /// <summary>A cleanup run was skipped because another instance holds the table's cleanup lock.</summary>
    public const int CleanupSkippedLocked = 4002;

    /// <summary>A cleanup run failed; the service tries again at the next interval.</summary>
    public const int CleanupRunFailed = 4003;

    /// <summary>Partition maintenance was postponed: the table's lock was not granted within the lock timeout.</summary>
    public const int CleanupPartitionsPostponed = 4004;

    /// <summary>A scheduled cleanup run did nothing because cleanup is disabled.</summary>
    public const int CleanupDisabled = 4005;

    /// <summary>A scheduled cleanup run could not start (PostgreSQL unreachable, the table missing); the message gives the reason.</summary>
    public const int CleanupCouldNotStart = 4010;

    /// <summary>Cleanup failed several runs in a row; the next run is put off (back-off), the message says until when.</summary>
    public const int CleanupBackingOff = 4011;

    /// <summary>
    /// A reloaded configuration section was invalid and not applied; the message names each key and its allowed range.
    /// The last valid options stay in force.
    /// </summary>
    public const int OptionsReloadRefused = 4012;

    /// <summary>A reload changed an option that is read only at start-up; it applies after a restart.</summary>
    public const int OptionsRestartRequired = 4013;

    /// <summary>This instance runs a phase more than one step from the phase the rest of the fleet runs; health is Degraded until they are in line.</summary>
    public const int FleetPhaseOutOfLine = 5010;

    /// <summary>This instance's phase is back within one step of the fleet's.</summary>
    public const int FleetPhaseInLine = 5011;

    /// <summary>The fleet heartbeat could not be written or read (logged once per outage).</summary>
    public const int FleetHeartbeatFailed = 5012;

    /// <summary>The fleet table does not exist yet (schema version 4): no heartbeat is written until it is migrated.</summary>
    public const int FleetTableMissing = 5013;
}
