using Npgsql;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>The store instances behind <see cref="PhaseRoles"/>: which built store is primary, secondary or idle in a phase.</summary>
internal sealed class StoreRouting(RebuildableStore redis, RebuildableStore postgres) : IDisposable
{
    private Route? _last;

    /// <summary>The stores of <paramref name="phase"/>, built if needed; throws <see cref="StoreUnavailableException"/> when one cannot be.</summary>
    public Route For(SessionStorePhase phase)
    {
        var (primary, secondary) = PhaseRoles.Of(phase);
        var primaryStore = Store(primary).Get();
        var secondaryStore = secondary is { } s ? Store(s).Get() : null;
        if (Volatile.Read(ref _last) is { } last && last.Phase == phase && last.Primary == primaryStore && last.Secondary == secondaryStore)
        {
            return last;
        }

        var route = new Route(phase, primaryStore, secondaryStore, primary, secondary);
        Volatile.Write(ref _last, route);
        return route;
    }

    public RebuildableStore Store(StoreKind kind) => kind == StoreKind.Redis ? redis : postgres;

    /// <summary>
    /// In a single-store phase, the configured store the phase does not use, when it can be built; null in a dual
    /// phase. A session removed or revoked must go from there too: the adjacent dual phase (after a rollback, or on
    /// an instance still in it during a rolling deploy) would read-repair the copy back and sign the user in again.
    /// </summary>
    public (ISessionCacheProvider Store, StoreKind Kind)? Idle(Route route, SessionStoreOptions options)
    {
        if (route.Secondary is not null || PhaseRoles.Idle(route.Phase) is not { } kind || options.StoreFailures(PhaseRoles.AlonePhase(kind)).Any())
        {
            return null;
        }

        try
        {
            return (Store(kind).Get(), kind);
        }
        catch (StoreUnavailableException)
        {
            return null;
        }
    }

    /// <summary>
    /// Runs <paramref name="clear"/> (a removal or a revocation) in the idle store. A PostgreSQL table that does not
    /// exist yet (step 0 of a migration: PostgreSQL configured, the table created in step 1) holds nothing to
    /// clear: that is success, not a failure to log, count and catch up on every sign-out.
    /// </summary>
    public static async ValueTask<T> ClearInIdleAsync<T>(Func<ValueTask<T>> clear, T nothingCleared)
    {
        try
        {
            return await clear().ConfigureAwait(false);
        }
        catch (InvalidOperationException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UndefinedTable })
        {
            return nothingCleared;
        }
    }

    /// <inheritdoc cref="ClearInIdleAsync{T}"/>
    public static async ValueTask ClearInIdleAsync(Func<ValueTask> clear) =>
        await ClearInIdleAsync(async () =>
        {
            await clear().ConfigureAwait(false);
            return true;
        }, nothingCleared: true).ConfigureAwait(false);

    public void Dispose()
    {
        redis.Dispose();
        postgres.Dispose();
    }
}

/// <summary>The stores one operation uses: resolved once per operation, so a phase change never splits one.</summary>
internal sealed record Route(SessionStorePhase Phase, ISessionCacheProvider Primary, ISessionCacheProvider? Secondary, StoreKind PrimaryKind, StoreKind? SecondaryKind);
