namespace SessionStore.DualWrite.Internal;

internal static class PhaseRoles
{
    /// <summary>Which stores a phase uses.</summary>
    public static (bool Postgres, bool Redis) StoresOf(SessionStorePhase phase) => phase switch
    {
        SessionStorePhase.RedisOnly => (false, true),
        SessionStorePhase.DualWriteRedisPrimary or SessionStorePhase.DualWritePostgresPrimary => (true, true),
        SessionStorePhase.PostgresOnly => (true, false),
        _ => (false, false),
    };

    public static bool PostgresIsPrimary(SessionStorePhase phase) =>
        phase is SessionStorePhase.DualWritePostgresPrimary or SessionStorePhase.PostgresOnly;

    public static bool IsDual(SessionStorePhase phase) =>
        phase is SessionStorePhase.DualWriteRedisPrimary or SessionStorePhase.DualWritePostgresPrimary;
}
