using System.Globalization;
using System.Reflection;
using Npgsql;
using SessionStore.Internal;
using SessionStore.Postgres.Internal;

namespace SessionStore.Postgres;

/// <summary>
/// Creates and upgrades a session table from the versioned SQL scripts shipped in this package. Safe to run
/// any number of times and from several instances at once: the work happens in one transaction under an
/// advisory lock, and each applied version is recorded in <c>sessionstore_schema_history</c> in the same schema.
/// </summary>
public sealed class PostgresSchemaMigrator
{
    private const string HistoryTableName = "sessionstore_schema_history";
    private const string ResourcePrefix = "SessionStore.Postgres.Schema.";
    private const string PartitionedResourcePrefix = ResourcePrefix + "Partitioned.";

    /// <summary>The schema version that adds the <c>ver</c> column (003_add_version_column.sql).</summary>
    private const int VersionColumnVersion = 3;

    /// <summary>How long a statement of the migration waits for a lock on a table in use, as the cleanup's default LockTimeout.</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMilliseconds(250);

    internal static readonly IReadOnlyList<(int Version, string Script)> PlainScripts = LoadScripts(ResourcePrefix);
    // A version the partitioned layout has no script of its own for is the same for both layouts.
    internal static readonly IReadOnlyList<(int Version, string Script)> PartitionedScripts = LoadScripts(PartitionedResourcePrefix)
        .UnionBy(PlainScripts, s => s.Version).OrderBy(s => s.Version).ToList();

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schemaName;
    private readonly string _tableName;
    private readonly PostgresSql _sql;
    private readonly PostgresPartitioningOptions? _partitioning;
    private readonly IReadOnlyList<(int Version, string Script)> _scripts;
    private readonly Dictionary<string, string> _placeholders;
    private readonly PostgresPayloadColumn _payload;

    /// <summary>Creates a migrator for one plain session table.</summary>
    /// <param name="dataSource">The database to migrate; not disposed by the migrator.</param>
    /// <param name="schemaName">The table's schema, created when missing.</param>
    /// <param name="tableName">The table's name.</param>
    /// <exception cref="ArgumentException">A name is empty, too long, holds a NUL or the scripts' <c>{{</c> placeholder syntax.</exception>
    public PostgresSchemaMigrator(NpgsqlDataSource dataSource, string schemaName, string tableName)
        : this(dataSource, schemaName, tableName, partitioning: null)
    {
    }

    /// <summary>Creates a migrator for one session table, plain or partitioned by expiry.</summary>
    /// <param name="dataSource">The database to migrate; not disposed by the migrator.</param>
    /// <param name="schemaName">The table's schema, created when missing.</param>
    /// <param name="tableName">The table's name.</param>
    /// <param name="partitioning">
    /// The partitioned layout, or null for a plain table. A partitioned table gets its partitions up to the
    /// horizon when it is migrated; the cleanup service keeps creating them after that.
    /// </param>
    public PostgresSchemaMigrator(NpgsqlDataSource dataSource, string schemaName, string tableName, PostgresPartitioningOptions? partitioning)
        : this(dataSource, schemaName, tableName, partitioning, PostgresPayloadFormat.Jsonb)
    {
    }

    /// <summary>Creates a migrator for the table a cache with <paramref name="options"/> uses: its names, layout and payload format.</summary>
    /// <param name="dataSource">The database to migrate; not disposed by the migrator.</param>
    /// <param name="options">The cache's options.</param>
    public PostgresSchemaMigrator(NpgsqlDataSource dataSource, PostgresSessionCacheOptions options)
        : this(dataSource, options?.SchemaName!, options?.TableName!, options?.Partitioning, options?.PayloadFormat ?? PostgresPayloadFormat.Jsonb)
    {
    }

    private PostgresSchemaMigrator(NpgsqlDataSource dataSource, string schemaName, string tableName, PostgresPartitioningOptions? partitioning, PostgresPayloadFormat payloadFormat)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        // PostgresSql validates both names, so that a bad one is refused here, before any connection.
        _dataSource = dataSource;
        _schemaName = schemaName;
        _tableName = tableName;
        _partitioning = partitioning;
        _sql = new PostgresSql(schemaName, tableName, partitioning is not null);
        _scripts = partitioning is null ? PlainScripts : PartitionedScripts;
        _payload = PostgresPayloadColumn.For(payloadFormat);

        // Every value is a quoted identifier from PostgresSql or a keyword chosen here; none comes from raw text.
        _placeholders = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["schema"] = _sql.Schema,
            ["table"] = _sql.Table,
            ["expire_index"] = _sql.ExpireIndex,
            ["user_index"] = _sql.UserIndex,
            ["forever_partition"] = _sql.ForeverPartition,
            ["partitioning"] = _sql.Partitioning,
            ["last_cleanup"] = _sql.LastCleanup,
            ["instances"] = Fleet.Internal.FleetTable.QualifiedName(_sql),
            ["payload_type"] = _payload.ColumnType,
        };
    }

    /// <summary>The schema version the newest shipped script creates.</summary>
    public static int LatestVersion => PlainScripts[^1].Version;

    /// <summary>The SQL that brings an empty database to <see cref="LatestVersion"/>, for review or a dry run.</summary>
    /// <returns>The scripts with this table's quoted names filled in.</returns>
    public string GetScript() => string.Join("\n", _scripts.Select(s => Render(s.Script)));

    /// <summary>
    /// Applies every script newer than the table's recorded version, and makes again what was dropped by hand: the
    /// table, or an index or side table of it (an index is built without CONCURRENTLY, holding the table's writes
    /// for the build).
    /// </summary>
    /// <param name="cancellationToken">Cancels the migration: the call returns at once, even against a hung server, and the transaction is rolled back behind it (a commit already sent may still land).</param>
    /// <returns>The versions applied, empty when the table was already current.</returns>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken = default) =>
        (await MigrateWithOutcomeAsync(cancellationToken).ConfigureAwait(false)).Applied;

    /// <summary>As <see cref="MigrateAsync"/>, synchronously.</summary>
    /// <returns>The versions applied, empty when the table was already current.</returns>
    public IReadOnlyList<int> Migrate() => MigrateCoreAsync(async: false, CancellationToken.None).GetAwaiter().GetResult().Applied;

    /// <summary>As <see cref="MigrateAsync"/>, saying also whether creating the partitions ahead was left to the cleanup.</summary>
    internal Task<MigrationOutcome> MigrateWithOutcomeAsync(CancellationToken cancellationToken) =>
        StoreDeadline.UntilCancelledAsync(t => MigrateCoreAsync(async: true, t).AsTask(), cancellationToken);

    /// <param name="async">Whether to run asynchronously.</param>
    /// <param name="cancellationToken">Cancels the migration.</param>
    /// <param name="onFirstUse">
    /// A cache's first call: a missing index of an existing relation is not built, and a repair whose lock is not
    /// granted is skipped rather than failed (both in <see cref="MigrationOutcome.LeftMissing"/>).
    /// </param>
    internal async ValueTask<MigrationOutcome> MigrateCoreAsync(bool async, CancellationToken cancellationToken, bool onFirstUse = false)
    {
        using var connection = async
            ? await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false)
            : _dataSource.OpenConnection();
        using var transaction = async
            ? await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false)
            : connection.BeginTransaction();

        // One lock per schema: the history table is shared by every session table in it.
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(hashtext($1))", $"sessionstore.migrate:{_schemaName}").ConfigureAwait(false);

        // Altering a table (or indexing it, or adding a partition) takes a lock that conflicts with the application's,
        // and every statement on the table queues behind a request waiting for one: behind a long read (a report,
        // pg_dump) the whole table would stall, at each start-up. So every wait for a lock from here on is short.
        await PostgresCommand.SetLocalAsync(connection, "lock_timeout", LockTimeout, async, cancellationToken).ConfigureAwait(false);
        if (!Convert.ToBoolean(await ExecuteAsync(connection, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", _schemaName).ConfigureAwait(false), CultureInfo.InvariantCulture))
        {
            await ExecuteAsync(connection, $"CREATE SCHEMA {_sql.Schema}").ConfigureAwait(false);
        }

        var history = $"{_sql.Schema}.{PostgresIdentifier.Create(nameof(HistoryTableName), HistoryTableName).Quoted}";
        await ExecuteAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS {history} (
                table_name text NOT NULL,
                version    integer NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (table_name, version))
            """).ConfigureAwait(false);
        var current = Convert.ToInt32(
            await ExecuteAsync(connection, $"SELECT coalesce(max(version), 0) FROM {history} WHERE table_name = $1", _tableName).ConfigureAwait(false),
            CultureInfo.InvariantCulture);

        // Checked before any script runs: a table of this name that SessionStore did not create (or created with the other
        // payload format) is refused as it is, rather than given a column by script 3 and then failing somewhere later.
        var table = await PostgresTableShape.DescribeAsync(connection, _sql.Table, async, cancellationToken).ConfigureAwait(false);
        var (problem, reason) = PostgresTableShape.Of(table, _payload, _partitioning is not null, requireVersion: current >= VersionColumnVersion);
        if (PostgresTableShape.ErrorFor(problem, reason, _sql.Table, _partitioning is not null) is { } error)
        {
            throw error;
        }

        var applied = new List<int>();
        if (problem == TableShapeProblem.NoVersionColumn)
        {
            // The history records version 3 or later, yet the column is gone (dropped by hand): script 3 adds it again,
            // as the cache's error tells the operator to run the migrator.
            await RunScriptAsync(_scripts.Single(s => s.Version == VersionColumnVersion).Script).ConfigureAwait(false);
            applied.Add(VersionColumnVersion);
        }

        // A table the history records but that is gone (dropped by hand) is created again by every script: all are
        // idempotent. A relation derived from it that is gone (an index dropped in a rebuild, a side table) is made again
        // by the one statement that creates it: the rest of its script alters or indexes the table. On first use, an
        // index of a relation still there is left missing: building it holds the relation's writes for as long as the
        // build takes, which a first call must not do (an index of a partition made again with it is empty, and free).
        // A relation that the recorded version's scripts never made is not missing: a newer script makes it.
        var from = problem == TableShapeProblem.Missing ? 0 : current;
        var missing = from > 0
            ? (await MissingDerivedRelationsAsync().ConfigureAwait(false)).Where(m => RepairOf(m, current) is not null).ToList()
            : [];
        var repairs = missing
            .Where(m => !onFirstUse || m.IndexOn is not { } on || missing.Any(r => r.Placeholder == on))
            .Select(m => (Relation: m, Repair: RepairOf(m, current)!.Value))
            .OrderBy(r => r.Repair.Version).ThenBy(r => r.Repair.Position)
            .ToList();
        foreach (var (version, script) in _scripts.Where(s => s.Version > from))
        {
            await RunScriptAsync(script).ConfigureAwait(false);
            if (version > current)
            {
                await ExecuteAsync(connection, $"INSERT INTO {history} (table_name, version) VALUES ($1, $2)", _tableName, version).ConfigureAwait(false);
            }

            applied.Add(version);
        }

        var madeAgain = new List<PostgresDerivedRelations.Missing>();
        foreach (var (relation, repair) in repairs)
        {
            if (relation.IndexOn is { } on && missing.Any(m => m.Placeholder == on) && !madeAgain.Any(m => m.Placeholder == on))
            {
                continue; // an index of a relation whose repair was left
            }

            if (onFirstUse)
            {
                // A repair on first use whose lock is not granted is left to `sessionstore migrate`, as the partitions
                // ahead are left to the cleanup: failing would fail every call, while the table serves without it.
                await ExecuteAsync(connection, "SAVEPOINT repair").ConfigureAwait(false);
                try
                {
                    await ExecuteAsync(connection, Render(repair.Statement)).ConfigureAwait(false);
                    await ExecuteAsync(connection, "RELEASE SAVEPOINT repair").ConfigureAwait(false);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
                {
                    await ExecuteAsync(connection, "ROLLBACK TO SAVEPOINT repair").ConfigureAwait(false);
                    continue;
                }
            }
            else
            {
                await RunScriptAsync(repair.Statement).ConfigureAwait(false);
            }

            madeAgain.Add(relation);
            applied.Add(repair.Version);
        }

        if (applied.Count > 0)
        {
            await MissingDerivedRelationsAsync().ConfigureAwait(false);
        }

        var leftMissing = missing.Except(madeAgain).Select(m => m.Name).ToList();

        var partitionsPostponed = false;
        if (_partitioning is not null)
        {
            // A new table's one row; an existing table's is read, not written, so that this never waits for a cleaner's
            // uncommitted move of the horizon (ON CONFLICT would). The schema lock above keeps two creators apart.
            await ExecuteAsync(connection, $"INSERT INTO {_sql.Partitioning} (bucket_width) SELECT $1 WHERE NOT EXISTS (SELECT FROM {_sql.Partitioning})", _partitioning.Interval).ConfigureAwait(false);

            // Creating a partition takes an exclusive lock on the table, waited for briefly (above) in a savepoint: when
            // the wait runs out the partitions are left to the cleanup's maintenance, and until then writes past the
            // horizon go to the forever partition.
            await ExecuteAsync(connection, "SAVEPOINT partitions").ConfigureAwait(false);
            try
            {
                await PostgresPartitions.MaintainAsync(connection, _sql, _partitioning.Horizon, dropExpired: false, async, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, "RELEASE SAVEPOINT partitions").ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
            {
                await ExecuteAsync(connection, "ROLLBACK TO SAVEPOINT partitions").ConfigureAwait(false);
                partitionsPostponed = true;
            }
        }

        if (async)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            transaction.Commit();
        }

        return new MigrationOutcome(applied.Distinct().Order().ToList(), partitionsPostponed, madeAgain.ConvertAll(m => m.Name), leftMissing);

        // Throws naming a derived name another relation holds: before the scripts, and after them (they would have taken it as theirs).
        ValueTask<IReadOnlyList<PostgresDerivedRelations.Missing>> MissingDerivedRelationsAsync() =>
            PostgresDerivedRelations.MissingAsync(connection, _sql, _placeholders["instances"], _partitioning is not null, async, cancellationToken);

        async ValueTask RunScriptAsync(string script)
        {
            try
            {
                await ExecuteAsync(connection, Render(script)).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
            {
                throw new InvalidOperationException(
                    $"Migrating the session table {_sql.Table} waited {LockTimeout.TotalMilliseconds:0} ms for a lock on it and gave up, so as not to stall the " +
                    "application's statements queued behind: another session holds the table (a long query, pg_dump, an open transaction; see pg_locks). " +
                    "Nothing was changed. Run the migration again once that session is over.", e);
            }
        }

        // The first script up to the recorded version that creates the relation: its version, and where and how.
        (int Version, int Position, string Statement)? RepairOf(PostgresDerivedRelations.Missing relation, int upTo)
        {
            foreach (var (version, script) in _scripts.Where(s => s.Version <= upTo))
            {
                if (PostgresScriptTemplate.StatementCreating(script, relation.Placeholder) is { } found)
                {
                    return (version, found.Position, found.Statement);
                }
            }

            return null;
        }

        ValueTask<object?> ExecuteAsync(NpgsqlConnection c, string sql, params object[] parameters) =>
            PostgresCommand.ScalarAsync(c, sql, async, cancellationToken, parameters);
    }

    /// <summary>
    /// What a migration did: the versions whose scripts it ran; whether the partitions ahead were left to the cleanup's
    /// maintenance because the table's lock was not granted within 250 ms; the relations derived from the table that
    /// were missing and it made again; and those it left missing (indexes, when not asked to build them).
    /// </summary>
    internal sealed record MigrationOutcome(IReadOnlyList<int> Applied, bool PartitionsPostponed, IReadOnlyList<string> MadeAgain, IReadOnlyList<string> LeftMissing);

    private string Render(string script) => PostgresScriptTemplate.Render(script, _placeholders);

    private static List<(int Version, string Script)> LoadScripts(string prefix)
    {
        var assembly = typeof(PostgresSchemaMigrator).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && char.IsAsciiDigit(name[prefix.Length]))
            .Select(name => (
                Version: int.Parse(name.AsSpan(prefix.Length, 3), CultureInfo.InvariantCulture),
                Script: Read(assembly, name)))
            .OrderBy(s => s.Version)
            .ToList();

        static string Read(Assembly assembly, string name)
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }
}
