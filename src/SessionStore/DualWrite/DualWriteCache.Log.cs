using Microsoft.Extensions.Logging;

namespace SessionStore.DualWrite;

public sealed partial class DualWriteCache
{
    [LoggerMessage(EventId = SessionStoreEventIds.DualWriteSecondaryFailed, Message = "Secondary store {Store} failed to {Operation} key hash {KeyHash}; the request went on without it.")]
    private partial void LogSecondaryFailed(LogLevel level, string store, string operation, string keyHash, Exception exception);

    [LoggerMessage(SessionStoreEventIds.DualWriteReadFailover, LogLevel.Warning, "Primary store {Store} failed to read key hash {KeyHash}; answered from the secondary.")]
    private partial void LogReadFailover(string store, string keyHash, Exception exception);

    [LoggerMessage(SessionStoreEventIds.DualWriteMismatch, LogLevel.Warning, "The stores differ for key hash {KeyHash}: {Kind} (phase {Phase}).")]
    private partial void LogMismatch(SessionMismatchKind kind, SessionStorePhase phase, string keyHash);

    [LoggerMessage(SessionStoreEventIds.DualWriteComparisonFailed, LogLevel.Debug, "A background comparison of key hash {KeyHash} could not complete.")]
    private partial void LogComparisonFailed(string keyHash, Exception exception);

    [LoggerMessage(SessionStoreEventIds.DualWritePhaseChanged, LogLevel.Information, "Session store phase changed from {Previous} to {Current}.")]
    private partial void LogPhaseChanged(SessionStorePhase previous, SessionStorePhase current);

    [LoggerMessage(SessionStoreEventIds.DualWritePhaseRefused, LogLevel.Error, "The configured session store phase {Configured} cannot be entered; staying in {Current}. {Reason}")]
    private partial void LogPhaseRefused(SessionStorePhase configured, SessionStorePhase current, string reason);
}
