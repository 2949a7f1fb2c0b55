using Microsoft.Extensions.Logging;

namespace SessionStore.Postgres;

public sealed partial class PostgresSessionCache
{
    [LoggerMessage(SessionStoreEventIds.PostgresUndecodableRow, LogLevel.Warning,
        "The stored value of key hash {KeyHash} could not be decoded and was treated as a miss.")]
    private partial void LogUndecodableRow(string keyHash, Exception exception);

    [LoggerMessage(SessionStoreEventIds.PostgresSchemaMigrated, LogLevel.Information,
        "Session table {Table} created or upgraded to schema version {Version}.")]
    private partial void LogSchemaMigrated(string table, int version);
}
