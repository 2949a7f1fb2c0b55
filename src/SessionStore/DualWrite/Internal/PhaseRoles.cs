namespace SessionStore.DualWrite.Internal;

/// <summary>The one place that says which store each phase reads from and writes to.</summary>
internal static class PhaseRoles
{
    /// <summary>The store that answers in <paramref name="phase"/>, and the one written after it (null in a single-store phase).</summary>
    /// <exception cref="InvalidOperationException">The phase is <see cref="SessionStorePhase.Unspecified"/>.</exception>
    public static (StoreKind Primary, StoreKind? Secondary) Of(SessionStorePhase phase) => phase switch
    {
        SessionStorePhase.RedisOnly => (StoreKind.Redis, null),
        SessionStorePhase.DualWriteRedisPrimary => (StoreKind.Redis, StoreKind.Postgres),
        SessionStorePhase.DualWritePostgresPrimary => (StoreKind.Postgres, StoreKind.Redis),
        SessionStorePhase.PostgresOnly => (StoreKind.Postgres, null),
        _ => throw new InvalidOperationException($"No valid phase is configured; valid phases: {SessionStore.Internal.SessionStorePhaseConverter.ValidValues}."),
    };

    /// <summary>Which stores a phase uses; neither for <see cref="SessionStorePhase.Unspecified"/>.</summary>
    public static (bool Postgres, bool Redis) StoresOf(SessionStorePhase phase)
    {
        if (phase == SessionStorePhase.Unspecified)
        {
            return (false, false);
        }

        var (primary, secondary) = Of(phase);
        return (primary == StoreKind.Postgres || secondary == StoreKind.Postgres, primary == StoreKind.Redis || secondary == StoreKind.Redis);
    }

    public static bool PostgresIsPrimary(SessionStorePhase phase) =>
        phase != SessionStorePhase.Unspecified && Of(phase).Primary == StoreKind.Postgres;

    /// <summary>In a single-store phase, the other store: a rollback would use it again.</summary>
    public static StoreKind? Idle(SessionStorePhase phase) =>
        Of(phase) is (var primary, null) ? Other(primary) : null;

    /// <summary>The store's name in logs and metric tags, as <see cref="SessionStore.Internal.ISessionCacheProvider.Name"/> spells it.</summary>
    public static string NameOf(StoreKind store) => store == StoreKind.Redis ? "redis" : "postgresql";

    /// <summary>Which store <paramref name="store"/> is, by its name.</summary>
    public static StoreKind KindOf(SessionStore.Internal.ISessionCacheProvider store) => store.Name == NameOf(StoreKind.Redis) ? StoreKind.Redis : StoreKind.Postgres;

    /// <summary>The phase that uses <paramref name="store"/> alone.</summary>
    public static SessionStorePhase AlonePhase(StoreKind store) => store == StoreKind.Redis ? SessionStorePhase.RedisOnly : SessionStorePhase.PostgresOnly;

    public static StoreKind Other(StoreKind store) => store == StoreKind.Redis ? StoreKind.Postgres : StoreKind.Redis;

    /// <summary>
    /// The phase to switch to first when going from <paramref name="from"/> to <paramref name="to"/> skips a dual
    /// phase; null when the switch is at most one step. A skipped dual phase means one store never received the
    /// other's writes: the new primary would serve stale sessions.
    /// </summary>
    public static SessionStorePhase? SafeNextStep(SessionStorePhase from, SessionStorePhase to) =>
        from == SessionStorePhase.Unspecified || to == SessionStorePhase.Unspecified || Math.Abs((int)to - (int)from) <= 1
            ? null
            : from + Math.Sign((int)to - (int)from);
}
