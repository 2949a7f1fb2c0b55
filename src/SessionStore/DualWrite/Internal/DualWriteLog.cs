using Microsoft.Extensions.Logging;

namespace SessionStore.DualWrite.Internal;

/// <summary>Every message of the dual-write cache, logged under its category (<see cref="DualWriteCache"/>).</summary>
internal static partial class DualWriteLog
{
    [LoggerMessage(EventId = SessionStoreEventIds.DualWriteSecondaryFailed, Message = "Secondary store {Store} failed to {Operation} key hash {KeyHash}; the request went on without it.")]
    public static partial void SecondaryFailed(ILogger logger, LogLevel level, string store, string operation, string keyHash, Exception exception);

    [LoggerMessage(SessionStoreEventIds.DualWriteReadFailover, LogLevel.Warning, "Primary store {Store} failed to read key hash {KeyHash}; answered from the secondary.")]
    public static partial void ReadFailover(ILogger logger, string store, string keyHash, Exception exception);

    [LoggerMessage(SessionStoreEventIds.DualWriteMismatch, LogLevel.Warning, "The stores differ for key hash {KeyHash}: {Kind} (phase {Phase}).")]
    public static partial void Mismatch(ILogger logger, SessionMismatchKind kind, SessionStorePhase phase, string keyHash);

    [LoggerMessage(SessionStoreEventIds.DualWriteMismatchCallbackFailed, LogLevel.Warning, "SessionStoreOptions.OnMismatch threw for key hash {KeyHash}; the mismatch was counted, logged and repaired all the same.")]
    public static partial void MismatchCallbackFailed(ILogger logger, string keyHash, Exception exception);

    [LoggerMessage(SessionStoreEventIds.DualWriteComparisonFailed, LogLevel.Debug, "A background comparison of key hash {KeyHash} could not complete.")]
    public static partial void ComparisonFailed(ILogger logger, string keyHash, Exception exception);

    [LoggerMessage(SessionStoreEventIds.DualWritePhaseChanged, LogLevel.Information, "Session store phase changed from {Previous} to {Current} (set by {Source}).")]
    public static partial void PhaseChanged(ILogger logger, SessionStorePhase previous, SessionStorePhase current, string source);

    [LoggerMessage(SessionStoreEventIds.DualWritePhaseRefused, LogLevel.Error, "The configured session store phase '{Configured}' cannot be entered; staying in {Current}. {Reason} (set by {Source})")]
    public static partial void PhaseRefused(ILogger logger, string configured, SessionStorePhase current, string reason, string source);

    [LoggerMessage(SessionStoreEventIds.DualWritePhaseInForce, LogLevel.Information, "Session store phase {Phase} is in force (set by {Source}).")]
    public static partial void PhaseInForce(ILogger logger, SessionStorePhase phase, string source);

    [LoggerMessage(SessionStoreEventIds.DualWriteStoreUnavailable, LogLevel.Error, "{Message} Fix {Setting}; the previous settings stay in use where there are any.")]
    public static partial void StoreUnavailable(ILogger logger, string message, string setting, Exception exception);

    [LoggerMessage(SessionStoreEventIds.DualWriteBreakerOpened, LogLevel.Warning, "Store {Store} keeps failing or timing out: its circuit breaker opened; calls to it stop for {BreakDuration} before a probe.")]
    public static partial void BreakerOpened(ILogger logger, string store, TimeSpan breakDuration);

    [LoggerMessage(SessionStoreEventIds.DualWriteBreakerClosed, LogLevel.Information, "Store {Store} answers again: its circuit breaker closed; {Backlog} missed keys are being copied to it.")]
    public static partial void BreakerClosed(ILogger logger, string store, int backlog);

    [LoggerMessage(SessionStoreEventIds.DualWriteCatchUpOverflow, LogLevel.Error, "The catch-up backlog of store {Store} is full ({Capacity} keys): further missed keys are only counted. Run 'sessionstore sync' once the store is back.")]
    public static partial void CatchUpOverflow(ILogger logger, string store, int capacity);

    [LoggerMessage(SessionStoreEventIds.DualWriteCatchUpCompleted, LogLevel.Information, "Store {Store} caught up: {Copied} missed keys brought up to date, {Left} left for a later attempt.")]
    public static partial void CatchUpCompleted(ILogger logger, string store, int copied, int left);

    [LoggerMessage(SessionStoreEventIds.DualWriteStoreRebuilt, LogLevel.Warning, "The {Store} store was built again: a reload changed {Changed} under {Section}. It now reads and writes there, where the sessions kept under the previous settings are not; restore them if that was not meant.")]
    public static partial void StoreRebuilt(ILogger logger, string store, string section, string changed);

    [LoggerMessage(SessionStoreEventIds.DualWriteSourceReadFailed, LogLevel.Debug, "Store {Store} failed to {Operation} key hash {KeyHash} for a background comparison or catch-up; nothing was changed: the comparison is dropped, a copy waits for a later catch-up.")]
    public static partial void SourceReadFailed(ILogger logger, string store, string operation, string keyHash, Exception exception);
}
