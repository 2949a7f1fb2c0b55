using System.Data;
using Npgsql;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Cleanup.Internal;

/// <summary>
/// The connection a cleanup run holds its advisory lock on and sends its statements on, each waited for at most its
/// bound. A hung server answers neither a statement nor Npgsql's cancel request, so a statement that overruns its
/// bound, or whose run is cancelled, is abandoned still running (<see cref="Bounded"/>). Nothing more is sent on the
/// connection then; once that statement ends, the lock is released and the connection given back, in the background.
/// </summary>
internal sealed class CleanupConnection : IAsyncDisposable
{
    private const string Store = "postgresql";
    private const string OperationTimeoutBound = "PostgresSessionCacheOptions.OperationTimeout";
    private const string OperationTimeout = nameof(SessionCacheProviderOptions.OperationTimeout);
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
        await Bounded.RunAsync(Store, "cleanup schema check", cache.EnsureSchemaReadyAsync, operationTimeout, OperationTimeout, TimeProvider.System, token, OperationTimeoutBound, table).ConfigureAwait(false);
        Task<NpgsqlConnection>? opening = null;
        try
        {
            var connection = await Bounded.RunAsync(
                Store, "cleanup connect", t => new ValueTask<NpgsqlConnection>(opening = dataSource.OpenConnectionAsync(t).AsTask()),
                operationTimeout, OperationTimeout, TimeProvider.System, token, OperationTimeoutBound, table).ConfigureAwait(false);
            return new CleanupConnection(dataSource, connection, table, lockKey, operationTimeout);
        }
        catch (Exception) when (opening is not null)
        {
            // Opened after the run stopped waiting (even in the same instant): back to the pool, nothing was sent on it.
            _ = opening.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>Takes the advisory lock unless another session holds it; false when it does.</summary>
    public async Task<bool> TryLockAsync(CancellationToken token)
    {
        // From the moment the request is sent the lock may be held, even if its answer never comes.
        _mayHoldLock = true;
        _mayHoldLock = await RunAsync("cleanup lock", _operationTimeout, OperationTimeout, OperationTimeoutBound, async (c, t) =>
            (bool)(await PostgresCommand.ScalarAsync(c, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", async: true, t, _lockKey).ConfigureAwait(false))!, token).ConfigureAwait(false);
        return _mayHoldLock;
    }

    /// <summary>Runs <paramref name="statement"/> on the connection for at most the cache's operation timeout.</summary>
    public Task<T> RunAsync<T>(string operation, Func<NpgsqlConnection, CancellationToken, Task<T>> statement, CancellationToken token) =>
        RunAsync(operation, _operationTimeout, OperationTimeout, OperationTimeoutBound, statement, token);

    /// <summary>Runs <paramref name="statement"/> on the connection for at most <paramref name="timeout"/>, held by <paramref name="setting"/> and spelled out by <paramref name="bound"/>.</summary>
    public async Task<T> RunAsync<T>(string operation, TimeSpan timeout, string setting, string bound, Func<NpgsqlConnection, CancellationToken, Task<T>> statement, CancellationToken token)
    {
        if (_abandoned is not null)
        {
            throw new InvalidOperationException("A statement abandoned on this cleanup connection is still running.");
        }

        Task<T>? running = null;
        try
        {
            return await Bounded.RunAsync(Store, operation, t => new ValueTask<T>(running = statement(_connection, t)), timeout, setting, TimeProvider.System, token, bound, _table).ConfigureAwait(false);
        }
        catch (Exception) when (running is { IsCompleted: false })
        {
            _abandoned = running;
            throw;
        }
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
            await Bounded.RunAsync(Store, "cleanup unlock", _ => new ValueTask(ReleaseAsync()), _operationTimeout, OperationTimeout, TimeProvider.System, CancellationToken.None, OperationTimeoutBound, _table).ConfigureAwait(false);
        }
        catch (SessionStoreTimeoutException)
        {
            // The release goes on: the lock is freed once the server answers, or once the connection breaks.
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
