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

    [LoggerMessage(SessionStoreEventIds.PostgresPartitionsPostponed, LogLevel.Warning,
        "Creating the partitions ahead of session table {Table} was left to the cleanup service: the table's lock was not granted within 250 ms (a long query or a dump holds it). Until the cleanup creates them, sessions expiring past the current horizon are written to the forever partition.")]
    private partial void LogPartitionsPostponed(string table);

    [LoggerMessage(SessionStoreEventIds.PostgresIndexesMissing, LogLevel.Warning,
        "Session table {Table} is missing {Indexes}, dropped by hand: cleanup and \"log out everywhere\" scan the table without it. The cache does not build an index on a table in use, as the build holds its writes; run `sessionstore migrate` (PostgresSchemaMigrator.MigrateAsync) at a quiet time.")]
    private partial void LogIndexesMissing(string table, string indexes);
}
