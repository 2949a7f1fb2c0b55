namespace SessionStore;

/// <summary>
/// The event ids SessionStore logs with, so that alerts and filters can name them. Ranges: 1xxx PostgreSQL,
/// 2xxx Redis, 3xxx dual-write, 4xxx cleanup.
/// </summary>
public static class SessionStoreEventIds
{
    /// <summary>A stored row could not be decoded; the read was answered as a miss.</summary>
    public const int PostgresUndecodableRow = 1001;

    /// <summary>The cache created or upgraded its table on first use.</summary>
    public const int PostgresSchemaMigrated = 1002;

    /// <summary>The Redis server refuses scripts; the cache fell back to plain commands for good.</summary>
    public const int RedisScriptingUnavailable = 2001;
}
