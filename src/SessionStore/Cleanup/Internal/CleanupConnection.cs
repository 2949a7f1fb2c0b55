using System.Data;
using Npgsql;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Cleanup.Internal;

/// <summary>
/// The connection a cleanup run holds its advisory lock on and sends its statements on, each waited for at most its
/// bound. A hung server answers neither a statement nor Npgsql's cancel request, so a statement that overruns its
/// bound, or whose run is cancelled, is abandoned still running (<see cref="Bounded"/>). The run sends nothing more on
/// the connection then (an abandoned transaction goes on to its COMMIT or ROLLBACK); once the abandoned step ends,
/// the lock is released and the connection given back, in the background.
/// </summary>
internal sealed class CleanupConnection : IAsyncDisposable
{
    private const string Store = "postgresql";
    private const string OperationTimeoutBound = "PostgresSessionCacheOptions.OperationTimeout";
    private const string TransactionBound = "PostgresCleanupOptions.StatementTimeout, plus PostgresSessionCacheOptions.OperationTimeout for the answer";
    private const string OperationTimeoutSetting = nameof(SessionCacheProviderOptions.OperationTimeout);
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlConnection _connection;
    private readonly string _lockKey;
    private readonly string _table;
    private readonly TimeSpan _operationTimeout;
    private Task? _abandoned;
    private bool _mayHoldLock;

    private CleanupConnection(NpgsqlDataSource dataSource, NpgsqlConnection connection, string table, string lockKey, TimeSpan operationTimeout)
    {
        _table = table;
        _dataSource = dataSource;
        _connection = connection;
        _lockKey = lockKey;
        _operationTimeout = operationTimeout;
    }

    /// <summary>
    /// Checks <paramref name="cache"/>'s table is ready (once per cache) and opens a connection for a run under the
    /// advisory lock <paramref name="lockKey"/>, waiting for each at most the cache's operation timeout.
    /// </summary>
    public static async Task<CleanupConnection> OpenAsync(PostgresSessionCache cache, string lockKey, CancellationToken token)
    {
        var (dataSource, table, operationTimeout) = (cache.DataSource, cache.Sql.DisplayName, cache.Options.OperationTimeout);
        if (new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).Multiplexing)
        {
            // Npgsql refuses a transaction begun by a command there, and would spread the lock and its release over connections.
            throw new InvalidOperationException(
                $"Cleanup of {table} needs one connection for the whole run (its lock and its transactions), which Npgsql's Multiplexing does not give: use a connection string or data source without Multiplexing=true.");
        }

        await StepAsync("cleanup schema check", operationTimeout, OperationTimeoutSetting, OperationTimeoutBound, table, operationTimeout, async t =>
        {
            await cache.EnsureSchemaReadyAsync(t).ConfigureAwait(false);
            return true;
        }, token).ConfigureAwait(false);
        Task<NpgsqlConnection>? opening = null;
        try
        {
            var connection = await StepAsync(
                "cleanup connect", operationTimeout, OperationTimeoutSetting, OperationTimeoutBound, table, operationTimeout,
                t => new ValueTask<NpgsqlConnection>(opening = dataSource.OpenConnectionAsync(t).AsTask()), token).ConfigureAwait(false);
            return new CleanupConnection(dataSource, connection, table, lockKey, operationTimeout);
        }
        catch (Exception) when (opening is not null)
        {
            // Opened after the run stopped waiting (even in the same instant): back to the pool, nothing was sent on it.
            _ = opening.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>
    /// Takes the advisory lock unless another session holds it; false when it does. The same statement asks the server
    /// for TCP keepalives on the session, and a TCP user timeout: a client that vanishes mid-run (a crash, a network
    /// partition) would otherwise leave its backend holding the lock, and every instance skipping cleanup, for the
    /// system's default of two hours (keepalives), or about fifteen minutes while the server's answer goes unacknowledged
    /// (retransmissions, when Linux sends no keepalives). With both the server finds the peer gone, ends the session and
    /// frees the lock in about a minute.
    /// </summary>
    public async Task<bool> TryLockAsync(CancellationToken token)
    {
        // From the moment the request is sent the lock may be held, even if its answer never comes.
        _mayHoldLock = true;
        _mayHoldLock = await RunAsync("cleanup lock", async (c, t) =>
            (bool)(await PostgresCommand.ScalarAsync(c, """
                SELECT pg_try_advisory_lock(hashtextextended($1, 0)),
                       set_config('tcp_keepalives_idle', '30', false), set_config('tcp_keepalives_interval', '10', false), set_config('tcp_keepalives_count', '3', false),
                       set_config('tcp_user_timeout', '60000', false)
                """, async: true, t, _lockKey).ConfigureAwait(false))!, token).ConfigureAwait(false);
        return _mayHoldLock;
    }

    /// <summary>Runs <paramref name="statement"/> on the connection for at most the cache's operation timeout.</summary>
    public Task<T> RunAsync<T>(string operation, Func<NpgsqlConnection, CancellationToken, Task<T>> statement, CancellationToken token) =>
        RunAsync(operation, _operationTimeout, OperationTimeoutSetting, OperationTimeoutBound, statement, token);

    /// <summary>Runs <paramref name="statement"/> on the connection for at most <paramref name="timeout"/>, held by <paramref name="setting"/> and spelled out by <paramref name="bound"/>.</summary>
    private async Task<T> RunAsync<T>(string operation, TimeSpan timeout, string setting, string bound, Func<NpgsqlConnection, CancellationToken, Task<T>> statement, CancellationToken token)
    {
        if (_abandoned is not null)
        {
            throw new InvalidOperationException("A statement abandoned on this cleanup connection is still running.");
        }

        Task<T>? running = null;
        try
        {
            return await StepAsync(operation, timeout, setting, bound, _table, _operationTimeout, t => new ValueTask<T>(running = statement(_connection, t)), token).ConfigureAwait(false);
        }
        catch (Exception) when (running is { IsCompleted: false })
        {
            _abandoned = running;
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a transaction whose <c>statement_timeout</c> is <paramref name="statementTimeout"/>,
    /// with the further <c>SET LOCAL</c> values <paramref name="locals"/>, as one step waited for at most that plus the
    /// cache's operation timeout (for the server's answer). Every statement, BEGIN and COMMIT included, gets an Npgsql
    /// timeout a second longer than the step, which the body is handed for its own: the connection's (the cache's
    /// OperationTimeout, or a lent data source's Command Timeout) would cut short a statement the server allows, and
    /// NpgsqlTransaction's COMMIT would take it. A failure rolls the transaction back, when the connection still can.
    /// </summary>
    public Task<T> RunInTransactionAsync<T>(
        string operation, TimeSpan statementTimeout, (string Name, TimeSpan Value)[] locals,
        Func<NpgsqlConnection, int, CancellationToken, Task<T>> body, CancellationToken token)
    {
        var timeout = statementTimeout + _operationTimeout;
        return RunAsync(operation, timeout, nameof(PostgresCleanupOptions.StatementTimeout), TransactionBound, async (connection, t) =>
        {
            // A second past the step's bound: against a hung server the step's own timeout, naming its setting, comes first.
            var commandTimeout = PostgresCommand.CommandTimeout(timeout) + 1;
            try
            {
                await PostgresCommand.ScalarAsync(connection, commandTimeout, "BEGIN", async: true, t).ConfigureAwait(false);
                foreach (var (name, value) in locals.Prepend(("statement_timeout", statementTimeout)))
                {
                    await PostgresCommand.SetLocalAsync(connection, name, value, async: true, t, commandTimeout).ConfigureAwait(false);
                }

                var result = await body(connection, commandTimeout, t).ConfigureAwait(false);
                await PostgresCommand.ScalarAsync(connection, commandTimeout, "COMMIT", async: true, t).ConfigureAwait(false);
                return result;
            }
            catch (Exception) when (connection.FullState == ConnectionState.Open)
            {
                await RollBackAsync(connection, commandTimeout).ConfigureAwait(false);
                throw;
            }
        }, token);
    }

    /// <summary>
    /// Releases the lock and gives the connection back: after an abandoned statement ends, in the background; else
    /// waiting at most the operation timeout, past which the release goes on in the background.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_abandoned is { } running)
        {
            StoreDeadline.Abandon(running.ContinueWith(_ => ReleaseAsync(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap());
            return;
        }

        try
        {
            await Bounded.RunAsync(Store, "cleanup unlock", _ => new ValueTask(ReleaseAsync()), _operationTimeout, OperationTimeoutSetting, TimeProvider.System, CancellationToken.None, OperationTimeoutBound, _table).ConfigureAwait(false);
        }
        catch (SessionStoreTimeoutException)
        {
            // The release goes on: the lock is freed once the server answers, or once the connection breaks.
        }
    }

    /// <summary>
    /// One step of a run, waited for at most <paramref name="timeout"/>. Npgsql's own timeout of one of its
    /// statements (the connection's Command Timeout or connect Timeout, <paramref name="operationTimeout"/> long) may
    /// fire first: that too is reported as the step's timeout, naming it and the table, not as "Exception while reading from stream".
    /// </summary>
    private static async Task<T> StepAsync<T>(
        string operation, TimeSpan timeout, string setting, string bound, string table, TimeSpan operationTimeout, Func<CancellationToken, ValueTask<T>> run, CancellationToken token)
    {
        try
        {
            return await Bounded.RunAsync(Store, operation, run, timeout, setting, TimeProvider.System, token, bound, table).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreDeadline.IsDriverTimeout(e))
        {
            throw new SessionStoreTimeoutException(Store, operation, operationTimeout, table, e);
        }
    }

    private static async Task RollBackAsync(NpgsqlConnection connection, int commandTimeout)
    {
        try
        {
            await PostgresCommand.ScalarAsync(connection, commandTimeout, "ROLLBACK", async: true, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The step's own failure is what the run reports; a connection that cannot roll back is broken, and closed when given back.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async Task ReleaseAsync()
    {
        try
        {
            // A broken connection is closed by Npgsql when given back, which ends the session and so its lock.
            if (_mayHoldLock && _connection.FullState == ConnectionState.Open)
            {
                await PostgresCommand.ScalarAsync(_connection, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", async: true, CancellationToken.None, _lockKey).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // Whatever the unlock failed with, the connection may hold the lock: it must not be pooled.
        catch (Exception)
#pragma warning restore CA1031
        {
            // The pool does not reset connections (No Reset On Close), so one that may still hold the lock is never
            // reused: clearing the pool has it closed when given back, and closing it ends the lock. (NpgsqlConnection.ClearPool
            // would not do: it finds only pools made from a connection string, not a data source's.) A data source the
            // application lent the cache loses its idle connections too; this is rare (the unlock failed, the connection did not).
            if (_connection.FullState == ConnectionState.Open)
            {
                _dataSource.Clear();
            }
        }
        finally
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
