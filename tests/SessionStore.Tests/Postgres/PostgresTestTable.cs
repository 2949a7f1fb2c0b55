using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>A session table of a test's own, with a cache on it and SQL access to its rows.</summary>
public sealed class PostgresTestTable : IDisposable
{
    private readonly PostgresServer _server;

    public PostgresTestTable(PostgresServer server, Action<PostgresSessionCacheOptions>? configure = null, ILogger<PostgresSessionCache>? logger = null, TimeProvider? time = null)
    {
        _server = server;
        Options = new PostgresSessionCacheOptions
        {
            ConnectionString = server.ConnectionString,
            TableName = PostgresServer.UniqueTableName("t"),
            CreateTableIfMissing = true,
        };
        configure?.Invoke(Options);
        Cache = new PostgresSessionCache(Options, logger ?? NullLogger<PostgresSessionCache>.Instance, time ?? TimeProvider.System);
    }

    public PostgresSessionCacheOptions Options { get; }

    public PostgresSessionCache Cache { get; }

    public string QualifiedName => $"\"{Options.SchemaName.Replace("\"", "\"\"")}\".\"{Options.TableName.Replace("\"", "\"\"")}\"";

    /// <summary>Runs SQL in which <c>{table}</c> stands for this table; returns the first column of the first row.</summary>
    public async Task<T?> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var command = _server.DataSource.CreateCommand(sql.Replace("{table}", QualifiedName, StringComparison.Ordinal));
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        var result = await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
        return result is null or DBNull ? default : (T)result;
    }

    /// <summary>A trigger on the table, run for each row written, whose body is <paramref name="statement"/> (plpgsql; <c>NEW</c> is the row).</summary>
    public async Task CreateTriggerAsync(string statement)
    {
        var function = $"trigger_{Guid.NewGuid():N}";
        await ScalarAsync<int>($$"""
            CREATE FUNCTION {{function}}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {{statement}}
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_trigger BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {{function}}();
            """);
    }

    /// <summary>
    /// Locks the row of <paramref name="key"/> (which must exist) from a connection of the test's own, until the
    /// result is disposed: a write of that key waits for it meanwhile.
    /// </summary>
    public async Task<IAsyncDisposable> LockRowAsync(string key)
    {
        var connection = await _server.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        var transaction = await connection.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand($"SELECT 1 FROM {QualifiedName} WHERE sid = $1 FOR UPDATE", connection, transaction) { Parameters = { new() { Value = key } } };
        Assert.Equal(1, await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        return new RowLock(connection, transaction);
    }

    public void Dispose() => Cache.Dispose();

    private sealed class RowLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await connection.DisposeAsync();
        }
    }
}
