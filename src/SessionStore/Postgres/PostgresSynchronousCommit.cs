namespace SessionStore.Postgres;

/// <summary>Whether <see cref="PostgresSessionCache"/>'s writes wait for their WAL to reach disk before they return.</summary>
public enum PostgresSynchronousCommit
{
    /// <summary>The server's (or the connection's) own <c>synchronous_commit</c>; <c>on</c> unless someone changed it.</summary>
    ServerSetting,

    /// <summary>
    /// <c>synchronous_commit = off</c> for the session's writes only: they return before their WAL is flushed, and a
    /// crash of the database server (not of the application) may lose those of the last 3 × <c>wal_writer_delay</c>
    /// (about 600 ms by default). The table stays consistent; only the newest writes may be missing.
    /// </summary>
    Off,
}
