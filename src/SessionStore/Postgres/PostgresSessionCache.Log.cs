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

    [LoggerMessage(SessionStoreEventIds.PostgresRelationsMissing, LogLevel.Warning,
        "Session table {Table} is missing {Relations}, dropped by hand. The cache did not make it again: that would build an index on the table in use, holding its writes for the build, or the table's lock was not granted within 250 ms (a long query holds it). Run `sessionstore migrate` (PostgresSchemaMigrator.MigrateAsync) at a quiet time.")]
    private partial void LogRelationsMissing(string table, string relations);
}
