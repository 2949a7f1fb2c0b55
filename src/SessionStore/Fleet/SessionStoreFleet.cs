using SessionStore.Fleet.Internal;
using SessionStore.Internal;
using SessionStore.Postgres;

namespace SessionStore.Fleet;

/// <summary>The application instances recorded in the fleet table, for <c>sessionstore status</c> and dashboards.</summary>
public static class SessionStoreFleet
{
    /// <summary>Reads every instance of the fleet table of <paramref name="options"/>'s session table.</summary>
    /// <param name="options">The same options the application's <c>AddDualWriteSessionStore</c> reads (its <c>Postgres</c> section).</param>
    /// <param name="staleAfter">How old a heartbeat may be before its instance is marked stale.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The instances, by name.</returns>
    /// <exception cref="InvalidOperationException">PostgreSQL is not configured, or the fleet table does not exist yet (run <c>sessionstore migrate</c>).</exception>
    public static async Task<IReadOnlyList<FleetInstance>> ReadAsync(PostgresSessionCacheOptions options, TimeSpan staleAfter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(staleAfter, TimeSpan.Zero);
        if (options.Validate() is { Count: > 0 } failures)
        {
            throw new InvalidOperationException($"SessionStore:Postgres: {string.Join(" ", failures)}");
        }

        var ownsDataSource = options.DataSource is null;
        // Bounded by OperationTimeout, so that a hung server ends the read.
        var dataSource = PostgresSessionCache.DataSourceWithDriverTimeouts(options);
        try
        {
            var table = new FleetTable(dataSource, options.SchemaName, options.TableName);
            return await StoreDeadline.UntilCancelledAsync(t => table.ReadAsync(staleAfter, t), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (ownsDataSource)
            {
                await dataSource.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The phase most live instances other than <paramref name="self"/> run, or null when no other instance is live.
    /// A tie goes to the phase farthest from <paramref name="selfPhase"/>, so that a split fleet is never hidden.
    /// </summary>
    internal static SessionStorePhase? PhaseOfTheOthers(IEnumerable<FleetInstance> instances, string self, SessionStorePhase selfPhase) =>
        instances
            .Where(i => !i.IsStale && i.InstanceId != self && i.Phase != SessionStorePhase.Unspecified)
            .GroupBy(i => i.Phase)
            .OrderByDescending(g => g.Count())
            .ThenByDescending(g => Math.Abs(g.Key - selfPhase))
            .Select(g => (SessionStorePhase?)g.Key)
            .FirstOrDefault();

    /// <summary>How many migration steps lie between two phases.</summary>
    internal static int Steps(SessionStorePhase a, SessionStorePhase b) => Math.Abs((int)a - (int)b);
}
