using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using SessionStore.Internal;
using SessionStore.Postgres.Internal;

namespace SessionStore.Postgres;

/// <summary>
/// An <see cref="IDistributedCache"/> on PostgreSQL, shaped for ASP.NET Core sessions: a read is one
/// primary-key select, followed by a touch only when the sliding expiry is due to move, the <c>Refresh</c> that
/// follows it is answered without I/O, and values are stored as readable JSONB.
/// </summary>
public sealed partial class PostgresSessionCache : ISessionCacheProvider, IDisposable
{
    /// <summary>The longest key accepted: the <c>sid</c> column is <c>varchar(255)</c>.</summary>
    public const int MaximumKeyLength = CacheArguments.MaximumKeyLength;

    private const string StoreName = "postgresql";

    // A partitioned statement that met a row another statement had just moved to another partition fails with
    // 40001 and is run again with a fresh snapshot; each retry follows a completed move, so few are ever needed.
    private const int MaximumAttempts = 10;

    private readonly PostgresSessionCacheOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _statements;
    private readonly int _synchronousCommandTimeout;
    private readonly bool _ownsDataSource;
    private readonly PostgresSql _sql;
    private readonly PostgresSchemaMigrator _migrator;
    private readonly byte[] _userIdKey;
    private readonly RecentReads _recentReads;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PostgresPayloadColumn _payload;
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private readonly ClockSkewCheck _clockSkew;
    private readonly ObjectPool<PooledKeyCommand> _reads;
    private readonly StatementBatcher<string, Row?>? _readBatcher;
    private readonly StatementBatcher<Write, WriteOutcome>? _writeBatcher;
    private readonly Func<Exception, string, Exception?> _explainFailure;
    private volatile bool _schemaReady;
    private long _rolledBackWriteBatches;

    /// <summary>Creates a cache from its options.</summary>
    /// <param name="optionsAccessor">The options; validated here, before any connection is made.</param>
    public PostgresSessionCache(IOptions<PostgresSessionCacheOptions> optionsAccessor)
        : this(optionsAccessor, NullLogger<PostgresSessionCache>.Instance, TimeProvider.System)
    {
    }

    /// <summary>Creates a cache from its options, with a logger and a clock.</summary>
    /// <param name="optionsAccessor">The options; validated here, before any connection is made.</param>
    /// <param name="logger">Receives warnings about undecodable rows, keyed by a hash of the key.</param>
    /// <param name="timeProvider">Measures how long ago a key was read, for refresh elision and expiry checks.</param>
    /// <exception cref="OptionsValidationException">An option is invalid; the message lists each one.</exception>
    public PostgresSessionCache(IOptions<PostgresSessionCacheOptions> optionsAccessor, ILogger<PostgresSessionCache> logger, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(optionsAccessor);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = optionsAccessor.Value;
        _options.ThrowIfInvalid();

        _logger = logger;
        _time = timeProvider;
        _ownsDataSource = _options.DataSource is null;
        _dataSource = DataSourceWithDriverTimeouts(_options);
        _statements = _options.DataSource ?? BuildDataSource(_options.ConnectionString!, _options.OperationTimeout, forStatementsTheCacheAbandons: true, _options.SynchronousCommit);
        // A synchronous statement cannot be abandoned: it always gets a driver timeout, OperationTimeout's when the data source has none.
        _synchronousCommandTimeout = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString).CommandTimeout is > 0 and var configured
            ? configured
            : PostgresCommand.CommandTimeout(_options.OperationTimeout);
        _sql = new PostgresSql(_options.SchemaName, _options.TableName, partitioned: _options.Partitioning is not null);
        _migrator = new PostgresSchemaMigrator(_dataSource, _options);
        _userIdKey = _options.UserIdSessionKeyUtf8;
        _recentReads = new RecentReads(timeProvider, _options.TouchThreshold);
        _payload = PostgresPayloadColumn.For(_options.PayloadFormat);
        _schemaReady = !_options.CreateTableIfMissing;
        _clockSkew = new ClockSkewCheck(_dataSource, timeProvider, logger);
        _reads = PooledKeyCommand.CreatePool(_statements, _sql.Get);
        // A partitioned read stops at the first partition holding its key (LIMIT 1), which a statement for many keys
        // cannot, and a partitioned write takes the key's lock first; both go one by one.
        if (!_sql.Partitioned)
        {
            _readBatcher = new StatementBatcher<string, Row?>(ReadManyAsync, _options.OperationTimeout, timeProvider);
            _writeBatcher = new StatementBatcher<Write, WriteOutcome>(WriteManyAsync, _options.OperationTimeout, timeProvider);
        }

        _explainFailure = ExplainFailure;
    }

    /// <inheritdoc />
    public byte[]? Get(string key) => ReadCoreAsync<ValueOnly, byte[]>(key, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) =>
        ReadCoreAsync<ValueOnly, byte[]>(key, async: true, token).AsTask();

    /// <inheritdoc />
    public bool TryGet(string key, IBufferWriter<byte> destination) =>
        TryGetCoreAsync(key, destination, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default) =>
        TryGetCoreAsync(key, destination, async: true, token);

    /// <inheritdoc />
    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        ArgumentNullException.ThrowIfNull(value);
        SetCoreAsync(key, value, options, WriteCondition.Always, async: false, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <inheritdoc />
    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        value is null
            ? Task.FromException(new ArgumentNullException(nameof(value)))
            : SetCoreAsync(key, value, options, WriteCondition.Always, async: true, token).AsTask();

    /// <inheritdoc />
    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) =>
        SetSequenceAsync(key, value, options, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        SetSequenceAsync(key, value, options, async: true, token);

    /// <inheritdoc />
    public void Refresh(string key) => RefreshCoreAsync(key, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task RefreshAsync(string key, CancellationToken token = default) => RefreshCoreAsync(key, async: true, token).AsTask();

    /// <inheritdoc />
    public void Remove(string key) => RemoveCoreAsync(key, async: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task RemoveAsync(string key, CancellationToken token = default) => RemoveCoreAsync(key, async: true, token).AsTask();

    string ISessionCacheProvider.Name => StoreName;

    TimeSpan ISessionCacheProvider.OperationTimeout => _options.OperationTimeout;

    string? ISessionCacheProvider.UserIdOf(ReadOnlySpan<byte> value) => UserIdOf(value);

    ValueTask<StoredEntry?> ISessionCacheProvider.GetEntryAsync(string key, bool async, CancellationToken token) => ReadCoreAsync<WholeEntry, StoredEntry>(key, async, token);

    async ValueTask ISessionCacheProvider.TouchAsync(string key, CancellationToken token) =>
        await ExecuteWriteAsync("refresh", _sql.Refresh, key, touchThreshold: 0, async: true, token).ConfigureAwait(false);

    ValueTask<long?> ISessionCacheProvider.SetAsync(string key, ReadOnlyMemory<byte> value, DistributedCacheEntryOptions options, WriteCondition condition, bool async, CancellationToken token) =>
        SetCoreAsync(key, value, options, condition, async, token);

    /// <summary>
    /// One round trip that also checks what every other operation needs: the table exists, has the columns the
    /// statements use, its payload column is of the configured format, and it has the version column (schema version 3).
    /// </summary>
    async Task ISessionCacheProvider.PingAsync(CancellationToken token)
    {
        var (problem, reason) = await DescribeTableAsync(token).ConfigureAwait(false);
        if (problem != TableShapeProblem.None)
        {
            throw UnfitTable(problem, reason);
        }
    }

    /// <summary>What, if anything, keeps the table from serving this cache's statements (see <see cref="PostgresTableShape"/>).</summary>
    internal async Task<(TableShapeProblem Problem, string Reason)> DescribeTableAsync(CancellationToken token)
    {
        var table = await ExecuteAsync("ping", async (a, t) =>
        {
            using var command = await CreateCommandAsync("", a, t).ConfigureAwait(false);
            return await PostgresTableShape.DescribeAsync(command, _sql.Table, a, t).ConfigureAwait(false);
        }, async: true, token).ConfigureAwait(false);
        return PostgresTableShape.Of(table, _payload, _sql.Partitioned, requireVersion: true);
    }

    /// <summary>The error, saying what to do, for a problem <see cref="DescribeTableAsync"/> found.</summary>
    internal InvalidOperationException UnfitTable(TableShapeProblem problem, string reason) => problem switch
    {
        TableShapeProblem.Missing => TableMissing(innerException: null),
        TableShapeProblem.NoVersionColumn => VersionColumnMissing(innerException: null),
        _ => PostgresTableShape.ErrorFor(problem, reason, _sql.Table, _sql.Partitioned)!,
    };

    /// <inheritdoc />
    public async Task<long> RevokeUserSessionsAsync(string userId, CancellationToken cancellationToken = default)
    {
        CacheArguments.ValidateUserId(userId);
        return await ExecuteAsync("revoke", async (a, t) =>
        {
            using var command = await CreateCommandAsync(_sql.RevokeUser, a, t).ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
            // The live rows deleted (RevokeUser's count(*)), not the rows affected, which include expired ones.
            return (long)(await command.ExecuteScalarAsync(t).ConfigureAwait(false))!;
        }, async: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The options the cache runs with, for the cleaner that works on the same table.</summary>
    internal PostgresSessionCacheOptions Options => _options;

    /// <summary>The cache's data source, shared with the cleaner rather than opening a second pool.</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Read statements sent and reads they carried (<see cref="StatementBatcher{TRequest, TResult}"/>); both 0 for a partitioned table, whose reads go one by one.</summary>
    internal (long Statements, long Reads) ReadCoalescing => _readBatcher is null ? (0, 0) : (_readBatcher.Statements, _readBatcher.Requests);

    /// <summary>
    /// Write statements (batches) sent, writes they carried, and batches the server rolled back (whose writes then
    /// went again alone); all 0 for a partitioned table.
    /// </summary>
    internal (long Statements, long Writes, long RolledBack) WriteCoalescing =>
        _writeBatcher is null ? (0, 0, 0) : (_writeBatcher.Statements, _writeBatcher.Requests, Interlocked.Read(ref _rolledBackWriteBatches));

    internal PostgresSql Sql => _sql;

    /// <summary>The user a value belongs to, as a write records it in <c>user_id</c>.</summary>
    internal string? UserIdOf(ReadOnlySpan<byte> value) => SessionPayload.FindUserId(value, _userIdKey);

    /// <summary>Whether a write records the user a value names (a <see cref="SessionCacheProviderOptions.UserIdSessionKey"/> is set).</summary>
    internal bool RecordsUsers => _userIdKey.Length > 0;

    /// <summary>Whether a row recording <paramref name="recorded"/> as its user names another than a write of <paramref name="value"/> would; never without a key.</summary>
    internal bool RecordedUserDiffers(string? recorded, ReadOnlySpan<byte> value) =>
        RecordsUsers && !string.Equals(recorded, UserIdOf(value), StringComparison.Ordinal);

    /// <summary>Creates the table first when the options ask for it; a no-op once done.</summary>
    internal ValueTask EnsureSchemaReadyAsync(CancellationToken token) =>
        _schemaReady ? ValueTask.CompletedTask : EnsureSchemaAsync(async: true, token);

    /// <summary>Disposes the data source when the cache built it from a connection string.</summary>
    public void Dispose()
    {
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
            _statements.Dispose();
        }

        _schemaLock.Dispose();
        (_reads as IDisposable)?.Dispose();
        _readBatcher?.Dispose();
        _writeBatcher?.Dispose();
    }

    private async ValueTask<bool> TryGetCoreAsync(string key, IBufferWriter<byte> destination, bool async, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (await ReadCoreAsync<ValueOnly, byte[]>(key, async, token).ConfigureAwait(false) is not { } value)
        {
            return false;
        }

        destination.Write(value);
        return true;
    }

    private async ValueTask SetSequenceAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, bool async, CancellationToken token)
    {
        CacheArguments.ValidateValueLength(value.Length, _options.MaximumValueSize, nameof(PostgresSessionCacheOptions.MaximumValueSize));
        await SetCoreAsync(key, value.IsSingleSegment ? value.First : value.ToArray(), options, WriteCondition.Always, async, token).ConfigureAwait(false);
    }

    private async ValueTask<long?> SetCoreAsync(string key, ReadOnlyMemory<byte> value, DistributedCacheEntryOptions options, WriteCondition condition, bool async, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        CacheArguments.ValidateValueLength(value.Length, _options.MaximumValueSize, nameof(PostgresSessionCacheOptions.MaximumValueSize));
        var expiration = EntryExpiration.From(options, _time.GetUtcNow());
        token.ThrowIfCancellationRequested();
        var userId = UserIdOf(value.Span);
        CacheArguments.ValidateRecordedUserId(userId);
        _recentReads.Forget(key);
        return await ExecuteAsync("set", (cache: this, key, value, userId, expiration, condition, caller: CallerStartsWaiting(token)),
            static (s, a, t) => s.cache.WriteAsync(s.key, s.value, s.userId, s.expiration, s.condition, s.caller, a, t), async, token).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds the statements of one conditional write to <paramref name="batch"/> (on a partitioned table, the
    /// key's lock first) and returns the write itself, whose <c>RecordsAffected</c> says whether it landed.
    /// <paramref name="returning"/> is appended to the write (on a partitioned table it sees inserted rows only);
    /// null instead makes the write return the version it stored, from an insert or an update, and nothing when
    /// the condition refused it. JSON payloads are encoded into buffers from <paramref name="buffers"/>, which the
    /// caller disposes once the batch ran.
    /// </summary>
    internal NpgsqlBatchCommand AddSetCommands(
        NpgsqlBatch batch, PooledBuffers buffers, string key, ReadOnlyMemory<byte> value, string? userId, EntryExpiration expiration, WriteCondition condition, string? returning = "")
    {
        AddKeyLock(batch, key);
        var set = CreateSetCommand(buffers, key, value, userId, expiration, condition, returning);
        batch.BatchCommands.Add(set);
        return set;
    }

    /// <summary>On a partitioned table, which has no unique index on the key alone, the key's lock for a write.</summary>
    private void AddKeyLock(NpgsqlBatch batch, string key)
    {
        if (_sql.Partitioned)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(_sql.SetLock) { Parameters = { new NpgsqlParameter<string> { TypedValue = key } } });
        }
    }

    /// <summary>The write statement of <see cref="AddSetCommands"/>, without the partitioned table's lock.</summary>
    private NpgsqlBatchCommand CreateSetCommand(
        PooledBuffers buffers, string key, ReadOnlyMemory<byte> value, string? userId, EntryExpiration expiration, WriteCondition condition, string? returning)
    {
        var versioned = returning is null;
        var sql = condition switch
        {
            { IfAbsent: true } => versioned ? _sql.SetIfAbsentReturningVersion : _sql.SetIfAbsent,
            { IfValue: not null } => versioned ? _sql.SetIfUnchangedReturningVersion : _sql.SetIfUnchanged,
            { IfOlderThan: not null } => versioned ? _sql.SetIfOlderReturningVersion : _sql.SetIfOlder,
            _ => versioned ? _sql.SetReturningVersion : _sql.Set,
        };
        var set = new NpgsqlBatchCommand(sql + returning);
        set.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        set.Parameters.Add(_payload.Parameter(value, buffers));
        set.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)userId ?? DBNull.Value });
        set.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Interval, Value = (object?)expiration.Sliding ?? DBNull.Value });
        set.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = DBNull.Value }); // absolute instants arrive as durations ($6): EntryExpiration's clock rule
        set.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Interval, Value = (object?)expiration.RelativeToNow ?? DBNull.Value });
        if (condition.IfValue is { } expected)
        {
            set.Parameters.Add(_payload.Parameter(expected, buffers));
        }
        else if (condition.IfOlderThan is { } version)
        {
            set.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
        }

        return set;
    }

    /// <summary>
    /// With <see cref="PostgresSynchronousCommit.Off"/> on a data source the application passes, a batch's first
    /// statement turns synchronous commit off for the batch's own implicit transaction (<c>set_config</c>'s
    /// <c>is_local</c>): the setting ends with the batch, so the pooled connection goes back as it came and no
    /// other statement of the application is affected.
    /// </summary>
    private void AddCommitMode(NpgsqlBatch batch)
    {
        // The cache's own statement connections carry the setting from their start (BuildDataSource).
        if (_options.SynchronousCommit == PostgresSynchronousCommit.Off && !_ownsDataSource)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(PostgresSql.SynchronousCommitOff));
        }
    }

    private async ValueTask RefreshCoreAsync(string key, bool async, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        if (_recentReads.RefreshIsNoOp(key))
        {
            return;
        }

        await ExecuteWriteAsync("refresh", _sql.Refresh, key, _options.TouchThreshold, async, token).ConfigureAwait(false);
    }

    private async ValueTask RemoveCoreAsync(string key, bool async, CancellationToken token)
    {
        CacheArguments.ValidateKey(key);
        token.ThrowIfCancellationRequested();
        _recentReads.Forget(key);
        await ExecuteWriteAsync("remove", _sql.Remove, key, touchThreshold: null, async, token).ConfigureAwait(false);
    }

    /// <summary>A command on the data source: it opens a pooled connection for the one statement and returns it after.</summary>
    private async ValueTask<NpgsqlCommand> CreateCommandAsync(string sql, bool async, CancellationToken token)
    {
        if (!_schemaReady)
        {
            await EnsureSchemaAsync(async, token).ConfigureAwait(false);
        }

        var command = _statements.CreateCommand(sql);
        command.CommandTimeout = DriverTimeout(async);
        return command;
    }

    /// <summary>
    /// No driver timeout for asynchronous statements: <see cref="StoreDeadline"/> stops waiting for them at
    /// <see cref="SessionCacheProviderOptions.OperationTimeout"/>, and a driver timeout would only make Npgsql send a cancel
    /// request, whose connect to a hung server blocks a thread-pool thread (a hung secondary then stalled every
    /// request for seconds). An abandoned statement ends when the server answers or its connection breaks. A
    /// synchronous statement cannot be abandoned, so it keeps the driver's timeout. The statements' own data source
    /// has no timeout by default (see <see cref="BuildDataSource"/>), so the usual, asynchronous, statement changes nothing.
    /// </summary>
    private int DriverTimeout(bool async) => async ? 0 : _synchronousCommandTimeout;

    private ValueTask<long?> ExecuteWriteAsync(string operation, string sql, string key, double? touchThreshold, bool async, CancellationToken token) =>
        ExecuteAsync(operation, (Cache: this, Sql: sql, Key: key, TouchThreshold: touchThreshold, Caller: CallerStartsWaiting(token)),
            static (w, a, t) => w.Cache.ExecuteWriteAsync(w.Sql, w.Key, w.TouchThreshold, w.Caller, a, t), async, token);

    /// <summary>
    /// Runs one statement (or batch) within <see cref="SessionCacheProviderOptions.OperationTimeout"/> and the caller's
    /// token, turning a missing table into an error that says how to create it, and running a partitioned
    /// statement again when it met a row that a concurrent statement moved. A synchronous call is bounded by the
    /// driver's timeouts instead (see <see cref="BuildDataSource"/>). An asynchronous statement gets no token: Npgsql
    /// cancels by sending a cancel request from the thread that cancels, which against a hung server blocked that
    /// thread for 60 s; the cache stops waiting instead, and the abandoned statement ends when the server answers or
    /// its connection breaks (<see cref="DriverTimeout"/>). A write still checks the caller's token before it is sent.
    /// </summary>
    private ValueTask<T> ExecuteAsync<T>(string operation, Func<bool, CancellationToken, ValueTask<T>> statement, bool async, CancellationToken token) =>
        ExecuteAsync(operation, statement, static (s, a, t) => s(a, t), async, token);

    /// <summary>As above, with the statement's state passed rather than captured, so a hot path allocates no closure for it.</summary>
    private ValueTask<T> ExecuteAsync<TState, T>(string operation, TState state, Func<TState, bool, CancellationToken, ValueTask<T>> statement, bool async, CancellationToken token)
    {
        if (!async)
        {
            return StoreDeadline.RunSynchronously(StoreName, operation, _sql.DisplayName, (cache: this, operation, state, statement, token),
                static s => s.cache.ExecuteCoreAsync(s.operation, s.state, s.statement, async: false, s.token));
        }

        // Only a partitioned table needs the retry loop; elsewhere the statement runs bare and StoreDeadline explains
        // its failure, which saves the read path an async method (and its allocation) per call.
        return _sql.Partitioned
            ? StoreDeadline.RunAsync(StoreName, operation, _sql.DisplayName, _options.OperationTimeout, (cache: this, operation, state, statement),
                static (s, _) => s.cache.ExecuteCoreAsync(s.operation, s.state, s.statement, async: true, CancellationToken.None), token, _explainFailure)
            : StoreDeadline.RunAsync(StoreName, operation, _sql.DisplayName, _options.OperationTimeout, (state, statement),
                static (s, _) => s.statement(s.state, true, CancellationToken.None), token, _explainFailure);
    }

    private async ValueTask<T> ExecuteCoreAsync<TState, T>(string operation, TState state, Func<TState, bool, CancellationToken, ValueTask<T>> statement, bool async, CancellationToken token)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await statement(state, async, token).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.SerializationFailure && _sql.Partitioned && attempt < MaximumAttempts)
            {
            }
            catch (Exception e) when (ExplainFailure(e, operation) is { } explained)
            {
                throw explained;
            }
        }
    }

    /// <summary>
    /// The error a caller should see for a statement's failure: a missing table, column or payload type becomes
    /// an error that says how to fix it, and the driver's own timeout a <see cref="SessionStoreTimeoutException"/>.
    /// Null when the failure speaks for itself.
    /// </summary>
    private Exception? ExplainFailure(Exception e, string operation) => e switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UndefinedTable } => TableMissing(e),
        PostgresException { SqlState: PostgresErrorCodes.DatatypeMismatch or PostgresErrorCodes.UndefinedFunction } => PayloadFormatMismatch(e),
        // Only a missing ver column is an old schema; any other missing column is a table SessionStore did not create.
        PostgresException { SqlState: PostgresErrorCodes.UndefinedColumn } p when p.MessageText.Contains("\"ver\"", StringComparison.Ordinal) => VersionColumnMissing(e),
        PostgresException { SqlState: PostgresErrorCodes.UndefinedColumn } p => PostgresTableShape.NotASessionTable(_sql.Table, p.MessageText, e),
        _ when StoreDeadline.IsDriverTimeout(e) => new SessionStoreTimeoutException(StoreName, operation, _options.OperationTimeout, _sql.DisplayName, e),
        _ => null,
    };

    private InvalidOperationException TableMissing(Exception? innerException) => new(
        $"The session table {_sql.Table} (or, partitioned, its {_sql.Partitioning}) does not exist. Create it with PostgresSchemaMigrator.MigrateAsync() " +
        $"(its SQL: PostgresSchemaMigrator.GetScript()), or set {nameof(PostgresSessionCacheOptions)}.{nameof(PostgresSessionCacheOptions.CreateTableIfMissing)} = true.",
        innerException);

    private InvalidOperationException PayloadFormatMismatch(Exception? innerException) =>
        PostgresTableShape.OtherPayloadFormat(_sql.Table, $"its sess column is not {_payload.ColumnType}", innerException);

    private InvalidOperationException VersionColumnMissing(Exception? innerException) => new(
        $"The session table {_sql.Table} has no ver column (a schema version older than 3, or the column was dropped). Add it with PostgresSchemaMigrator.MigrateAsync() " +
        $"(or `sessionstore migrate`), or set {nameof(PostgresSessionCacheOptions)}.{nameof(PostgresSessionCacheOptions.CreateTableIfMissing)} = true.",
        innerException);

    private async ValueTask EnsureSchemaAsync(bool async, CancellationToken token)
    {
        // Bounded like the call itself: against a hung server, calls must not queue here one after another, each to
        // try the migration again once the one ahead has given up (a synchronous Get waited 17.8 s behind eight).
        if (!(async ? await _schemaLock.WaitAsync(_options.OperationTimeout, token).ConfigureAwait(false) : _schemaLock.Wait(_options.OperationTimeout, token)))
        {
            throw new TimeoutException($"Waited {_options.OperationTimeout.TotalMilliseconds:0} ms for another call's check of the table's schema.");
        }

        try
        {
            if (!_schemaReady)
            {
                var outcome = await _migrator.MigrateCoreAsync(async, token, onFirstUse: true).ConfigureAwait(false);
                if (outcome.Applied.Count > 0)
                {
                    LogSchemaMigrated(_sql.Table, outcome.Applied[^1]);
                }

                if (outcome.PartitionsPostponed)
                {
                    LogPartitionsPostponed(_sql.Table);
                }

                if (outcome.LeftMissing.Count > 0)
                {
                    LogRelationsMissing(_sql.Table, string.Join(", ", outcome.LeftMissing));
                }

                _schemaReady = true;
            }
        }
        finally
        {
            _schemaLock.Release();
        }
    }

    // GetTimeSpan, not GetFieldValue<TimeSpan>: the generic path allocated about 150 B per column read (Npgsql 10).
    internal static TimeSpan? ReadInterval(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetTimeSpan(ordinal);

    /// <summary>
    /// The options' data source, or one built from their connection string with the driver's timeouts (see
    /// <see cref="BuildDataSource"/>): for the code that does not bound its statements itself — the cache's schema
    /// and cleanup work, and the tools (<c>migrate</c>, <c>status</c>), which used Npgsql's defaults before.
    /// </summary>
    internal static NpgsqlDataSource DataSourceWithDriverTimeouts(PostgresSessionCacheOptions options) =>
        options.DataSource ?? BuildDataSource(options.ConnectionString!, options.OperationTimeout, forStatementsTheCacheAbandons: false);

    /// <summary>
    /// The data source the cache builds from a connection string, with timeouts derived from
    /// <paramref name="operationTimeout"/> unless the connection string sets them: they are what bounds a
    /// synchronous call (Npgsql counts whole seconds), and what ends an asynchronous call the cache stopped
    /// waiting for. A borrowed data source is never changed.
    /// </summary>
    /// <remarks>
    /// The cache builds two: one for its own statements, which it bounds itself (<paramref name="forStatementsTheCacheAbandons"/>:
    /// no command timeout by default), and one, with the driver's timeout, for the code that needs it (the schema
    /// migrator, the cleaner, the migration tools). Npgsql sets a connection's socket timeouts again whenever a
    /// command's timeout differs from the connection's default, which cost four system calls per statement (6 % of
    /// a read's client CPU, measured). The second pool keeps no connection idle unless it is used.
    /// </remarks>
    internal static NpgsqlDataSource BuildDataSource(
        string connectionString, TimeSpan operationTimeout, bool forStatementsTheCacheAbandons, PostgresSynchronousCommit synchronousCommit = PostgresSynchronousCommit.ServerSetting)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;

        // Sessions run the same four statements all day: prepared, they skip parsing and planning.
        if (settings.MaxAutoPrepare == 0)
        {
            settings.MaxAutoPrepare = 16;
        }

        // The cache never changes connection state, so the reset on return to the pool is pure overhead.
        settings.NoResetOnClose = true;

        var seconds = PostgresCommand.CommandTimeout(operationTimeout);
        if (!ExplicitlySet(connectionString, "Timeout"))
        {
            settings.Timeout = seconds;
        }

        if (forStatementsTheCacheAbandons)
        {
            settings.CommandTimeout = 0;

            // These connections run only the cache's session statements, so the setting can ride on the connection
            // instead of costing every write a set_config statement (as it must on a data source the application shares).
            if (synchronousCommit == PostgresSynchronousCommit.Off)
            {
                settings.Options = $"{settings.Options} -c synchronous_commit=off".TrimStart();
            }
        }
        else
        {
            if (!ExplicitlySet(connectionString, "Command Timeout", "CommandTimeout"))
            {
                settings.CommandTimeout = seconds;
            }

            settings.MinPoolSize = 0;
        }

        // After a timeout or a cancelled token Npgsql asks the server to cancel the statement, then by default
        // waits up to 2 s for the statement's answer, which a hung server never gives. -1 skips that wait and breaks
        // the connection once the request is sent. Sending it still opens a connection to the hung server, which
        // waits the connect Timeout: callers that must not wait that long stop waiting at OperationTimeout
        // themselves (StoreDeadline); a synchronous statement cannot, so it takes the command and the connect
        // timeouts, about 2 × OperationTimeout.
        if (!ExplicitlySet(connectionString, "Cancellation Timeout", "CancellationTimeout"))
        {
            settings.CancellationTimeout = -1;
        }

        // With Npgsql's default (Prefer), every new connection, the cancel request's included, first asks for GSS
        // (Kerberos) encryption and waits the whole connect Timeout for a hung server's answer before asking again
        // without it: a synchronous Get took 3 × OperationTimeout instead of 2 ×. Prefer falls back to no GSS
        // encryption anyway; a connection string that needs it says so (GSS Encryption Mode=Require).
        if (!ExplicitlySet(connectionString, "GSS Encryption Mode", "GssEncryptionMode"))
        {
            settings.GssEncryptionMode = GssEncryptionMode.Disable;
        }

        return builder.Build();
    }

    private static bool ExplicitlySet(string connectionString, params string[] keys)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return keys.Any(given.ContainsKey);
    }
}
