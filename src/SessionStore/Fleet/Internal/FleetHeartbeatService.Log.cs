using Microsoft.Extensions.Logging;

namespace SessionStore.Fleet.Internal;

internal sealed partial class FleetHeartbeatService
{
    [LoggerMessage(SessionStoreEventIds.FleetPhaseOutOfLine, LogLevel.Error, "{Warning}")]
    private partial void LogPhaseOutOfLine(string warning);

    [LoggerMessage(SessionStoreEventIds.FleetPhaseInLine, LogLevel.Information, "This instance ({InstanceId}) runs phase {Phase}, in line with the fleet again.")]
    private partial void LogPhaseInLine(string instanceId, SessionStorePhase phase);

    [LoggerMessage(SessionStoreEventIds.FleetHeartbeatFailed, LogLevel.Warning, "The fleet heartbeat could not be written or read; it is tried again every interval: {Reason}")]
    private partial void LogHeartbeatFailed(string reason);

    [LoggerMessage(SessionStoreEventIds.FleetTableMissing, LogLevel.Information, "No fleet view yet: {Reason}")]
    private partial void LogTableMissing(string reason);
}
