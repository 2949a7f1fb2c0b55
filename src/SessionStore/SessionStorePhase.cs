using System.ComponentModel;
using SessionStore.Internal;

namespace SessionStore;

/// <summary>
/// The four steps of a migration from Redis to PostgreSQL. Each can be entered from the next or the previous
/// one without a restart, so every step can be rolled back.
/// </summary>
/// <remarks>
/// In configuration, the names and the article's spellings are accepted alike, case-insensitively:
/// <c>RedisOnly</c>/<c>redis-only</c>, <c>DualWriteRedisPrimary</c>/<c>dual-redis-primary</c>,
/// <c>DualWritePostgresPrimary</c>/<c>dual-pg-primary</c>, <c>PostgresOnly</c>/<c>pg-only</c>.
/// </remarks>
[TypeConverter(typeof(SessionStorePhaseConverter))]
public enum SessionStorePhase
{
    /// <summary>No phase: a configuration value that names none binds to this, and start-up refuses it.</summary>
    Unspecified = 0,

    /// <summary>Sessions live in Redis only: where a migration starts, and where a full rollback ends.</summary>
    RedisOnly = 1,

    /// <summary>Redis answers; every write also goes to PostgreSQL, and reads missing there are copied over.</summary>
    DualWriteRedisPrimary = 2,

    /// <summary>PostgreSQL answers; every write also goes to Redis, so a rollback to Redis loses nothing.</summary>
    DualWritePostgresPrimary = 3,

    /// <summary>Sessions live in PostgreSQL only: the end of the migration.</summary>
    PostgresOnly = 4,
}
