using Npgsql;
using SessionStore.Internal;
using SessionStore.Postgres.Internal;

namespace SessionStore.Fleet.Internal;

/// <summary>The fleet table (<c>&lt;table&gt;_instances</c>, schema version 4): one row per instance, upserted on each heartbeat.</summary>
internal sealed class FleetTable(NpgsqlDataSource dataSource, string schemaName, string tableName)
{
    public const string Suffix = "_instances";

    private readonly string _table = QualifiedName(new PostgresSql(schemaName, tableName));

    /// <summary>The quoted, schema-qualified name of the fleet table of a session table; the schema migrator fills <c>{{instances}}</c> with it.</summary>
    public static string QualifiedName(PostgresSql sql) => sql.QualifiedPartition(sql.TableName + Suffix);

    public async Task HeartbeatAsync(string instanceId, SessionStorePhase phase, CancellationToken cancellationToken)
    {
        await ExecuteAsync($"""
            INSERT INTO {_table} (instance_id, phase) VALUES ($1, $2)
            ON CONFLICT (instance_id) DO UPDATE SET phase = excluded.phase, last_heartbeat = now()
            """, cancellationToken, instanceId, phase.ToString()).ConfigureAwait(false);
    }

    public Task RemoveAsync(string instanceId, CancellationToken cancellationToken) =>
        ExecuteAsync($"DELETE FROM {_table} WHERE instance_id = $1", cancellationToken, instanceId);

    /// <summary>
    /// Forgets instances silent for a day: a fleet view is about the instances running now. A heartbeat a day in the
    /// future (written before the database's clock was set back) is as old as can be known, so it goes too.
    /// </summary>
    public Task PruneAsync(CancellationToken cancellationToken) =>
        ExecuteAsync($"DELETE FROM {_table} WHERE last_heartbeat NOT BETWEEN now() - interval '1 day' AND now() + interval '1 day'", cancellationToken);

    public async Task<IReadOnlyList<FleetInstance>> ReadAsync(TimeSpan staleAfter, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await PostgresCommand.QueryAsync(
                    connection,
                    $"SELECT instance_id, phase, started_at, last_heartbeat, now() - last_heartbeat FROM {_table} ORDER BY instance_id",
                    r =>
                    {
                        // A heartbeat is written with the database's now(), so one in the future was written before its clock
                        // was set back: beyond the limit it says no more about the instance being alive than an old one.
                        var age = r.GetFieldValue<TimeSpan>(4);
                        return new FleetInstance(
                            r.GetString(0), SessionStorePhaseConverter.Parse(r.GetString(1)), r.GetFieldValue<DateTimeOffset>(2), r.GetFieldValue<DateTimeOffset>(3), age, age.Duration() > staleAfter);
                    },
                    async: true,
                    cancellationToken).ConfigureAwait(false);
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            throw Missing(e);
        }
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        try
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                await PostgresCommand.ScalarAsync(connection, sql, async: true, cancellationToken, parameters).ConfigureAwait(false);
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            throw Missing(e);
        }
    }

    private InvalidOperationException Missing(Exception e) => new(
        $"The fleet table {_table} does not exist (schema version 4). Create it with `sessionstore migrate` or PostgresSchemaMigrator.MigrateAsync().", e);
}
