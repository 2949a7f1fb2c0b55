using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.Internal;
using SessionStore.Postgres.Internal;

namespace SessionStore.Postgres;

/// <summary>Options for <see cref="PostgresSessionCache"/>.</summary>
public sealed class PostgresSessionCacheOptions : SessionCacheProviderOptions, IOptions<PostgresSessionCacheOptions>
{
    /// <summary>The longest table name accepted: index names derived from it must fit PostgreSQL's 63 bytes.</summary>
    public const int MaximumTableNameBytes = 50;

    /// <summary>
    /// The connection string of the database that holds the session table. Ignored when
    /// <see cref="DataSource"/> is set.
    /// </summary>
    /// <value>Default null; either this or <see cref="DataSource"/> is required.</value>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// A data source to use instead of building one from <see cref="ConnectionString"/>. The cache borrows it
    /// and never disposes it.
    /// </summary>
    /// <value>Default null.</value>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>
    /// With the DI registrations, and neither <see cref="ConnectionString"/> nor <see cref="DataSource"/> set: the key of
    /// the container's keyed <see cref="NpgsqlDataSource"/> to borrow, e.g. the connection name given to Aspire's
    /// <c>AddKeyedNpgsqlDataSource("sessions")</c>. Unset, the container's unkeyed data source is borrowed, if any.
    /// </summary>
    /// <value>Default null.</value>
    public string? DataSourceServiceKey { get; set; }

    /// <summary>
    /// The schema of the session table; always quoted, so case and any character are kept. Refused: empty, a NUL, a
    /// lone surrogate, the schema scripts' <c>{{</c> or <c>}}</c>, more than 63 bytes of UTF-8, a <c>pg_</c> prefix.
    /// </summary>
    /// <value>Default <c>public</c>.</value>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    public string SchemaName { get; set; } = "public";

    /// <summary>
    /// The session table's name; always quoted. Index names are derived from it. Refused: empty, a NUL, a lone
    /// surrogate, the schema scripts' <c>{{</c> or <c>}}</c>, more than <see cref="MaximumTableNameBytes"/> bytes.
    /// </summary>
    /// <value>Default <c>sessions</c>; at most <see cref="MaximumTableNameBytes"/> bytes of UTF-8.</value>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    public string TableName { get; set; } = "sessions";

    /// <summary>How the <c>sess</c> column holds values; it must match the table (the migrator creates it so).</summary>
    /// <value>Default <see cref="PostgresPayloadFormat.Jsonb"/>.</value>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    public PostgresPayloadFormat PayloadFormat { get; set; } = PostgresPayloadFormat.Jsonb;

    /// <summary>
    /// Whether the cache creates (or upgrades) its table on first use. Off by default: production schemas
    /// usually change through a deliberate migration step, with <see cref="PostgresSchemaMigrator"/> or the CLI.
    /// </summary>
    /// <value>Default false.</value>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    public bool CreateTableIfMissing { get; set; }

    /// <summary>
    /// Partitions the table by expiry so that cleanup drops whole partitions; null keeps one plain table. Decided
    /// when the table is created: a plain table is not converted, and the cache refuses to start on a table of the
    /// other layout when it creates tables itself.
    /// </summary>
    /// <value>Default null (a plain table).</value>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    public PostgresPartitioningOptions? Partitioning { get; set; }

    /// <summary>
    /// Whether the session's own writes (Set, the sliding touch of a Get or Refresh, Remove) wait for their WAL to
    /// reach disk. <see cref="PostgresSynchronousCommit.Off"/> sets <c>synchronous_commit = off</c> for those
    /// statements only, never for the application's other statements on the same database or pool: a server crash
    /// (not an application crash) may then lose the writes of the last 3 × <c>wal_writer_delay</c> (about 600 ms by
    /// default), never corrupt the table. See docs/postgres.md, "Durability".
    /// </summary>
    /// <value>Default <see cref="PostgresSynchronousCommit.ServerSetting"/>: the server's (or connection's) own setting.</value>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    public PostgresSynchronousCommit SynchronousCommit { get; set; } = PostgresSynchronousCommit.ServerSetting;

    PostgresSessionCacheOptions IOptions<PostgresSessionCacheOptions>.Value => this;

    /// <inheritdoc />
    /// <summary>Whether a connection is named at all (a connection string or a data source), usable or not.</summary>
    internal bool NamesConnection => DataSource is not null || !string.IsNullOrWhiteSpace(ConnectionString);

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate() => Validate(connectionRequired: true);

    /// <summary>
    /// The failures that keep the table's script from being written: all of <see cref="Validate()"/>'s but a missing
    /// connection, which a script printed for a DBA does not need.
    /// </summary>
    internal IReadOnlyList<string> ValidateForScript() => Validate(connectionRequired: false);

    private List<string> Validate(bool connectionRequired)
    {
        var failures = new List<string>();
        ValidateShared(failures);
        PostgresPayloadColumn.For(PayloadFormat).ValidateMaximumValueSize(failures, MaximumValueSize);
        if (!NamesConnection)
        {
            if (connectionRequired)
            {
                failures.Add($"Neither {nameof(ConnectionString)} nor {nameof(DataSource)} is set; one of them is required.");
            }
        }
        else if (DataSource is null && ConnectionStringProblem(ConnectionString!) is { } problem)
        {
            failures.Add(problem);
        }

        if (!Enum.IsDefined(SynchronousCommit))
        {
            failures.Add($"{nameof(SynchronousCommit)} is {(int)SynchronousCommit}; allowed: {string.Join(", ", Enum.GetNames<PostgresSynchronousCommit>())}.");
        }

        if (!Enum.IsDefined(PayloadFormat))
        {
            failures.Add($"{nameof(PayloadFormat)} is {(int)PayloadFormat}; allowed: {string.Join(", ", Enum.GetNames<PostgresPayloadFormat>())}.");
        }

        Add(failures, PostgresIdentifier.SchemaProblem(nameof(SchemaName), SchemaName));
        Add(failures, PostgresIdentifier.Problem(nameof(TableName), TableName, MaximumTableNameBytes));
        Partitioning?.Validate(failures, TableName);
        return failures;
    }

    /// <summary>
    /// Why Npgsql cannot read <paramref name="connectionString"/> (an unknown keyword, a port that is no number) or
    /// cannot use it (no host, multiplexing without pooling, a port out of range), never showing a part of it that may
    /// be a password.
    /// </summary>
    private static string? ConnectionStringProblem(string connectionString)
    {
        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e) when (e.ParamName is { } keyword)
        {
            return ConnectionTextProblem.Describe(nameof(ConnectionString), connectionString, ';', keyword, known: new NpgsqlConnectionStringBuilder().ContainsKey(keyword));
        }
        catch (ArgumentException e)
        {
            // Npgsql's syntax error names a position only ("does not conform to specification starting at index 21").
            return $"{nameof(ConnectionString)} cannot be read: {e.Message}";
        }

        // Npgsql takes any int here and fails only when connecting, with "Specified argument was out of the range".
        if (parsed.Port is < 1 or > 65535)
        {
            return $"{nameof(ConnectionString)} cannot be used: Port must be between 1 and 65535 (the value is not shown).";
        }

        // Npgsql's own checks (a host, pooling for multiplexing, ...) run when a data source is built, not when the string
        // is read: without them the application started and its first request failed. Building one connects to nothing.
        try
        {
            using var dataSource = new NpgsqlDataSourceBuilder(connectionString).Build();
            return null;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidOperationException)
        {
            return $"{nameof(ConnectionString)} cannot be used: {UnusableBecause(e, parsed)}";
        }
    }

    /// <summary>Npgsql's reason for refusing to build a data source, unless it quotes one of the string's values.</summary>
    private static string UnusableBecause(Exception e, NpgsqlConnectionStringBuilder parsed)
    {
        if (e is ArgumentNullException { ParamName: { } missing })
        {
            // Its message is only "Value cannot be null. (Parameter 'Host')".
            return $"{missing} is not set; it is required.";
        }

        // Most of these messages are fixed text ("Pooling must be on to use multiplexing"), but some quote a value
        // ("'Max Pool Size' 5 under 'Min Pool Size' 10"), and a value may be a password.
        var values = parsed.Keys.Cast<string>().Select(key => Convert.ToString(parsed[key], System.Globalization.CultureInfo.InvariantCulture));
        return ConnectionTextProblem.Quotes(e.Message, values)
            ? "Npgsql refuses how its settings combine. Its message is not shown: it quotes a value."
            : e.Message;
    }

    private static void Add(List<string> failures, string? failure)
    {
        if (failure is not null)
        {
            failures.Add(failure);
        }
    }
}
