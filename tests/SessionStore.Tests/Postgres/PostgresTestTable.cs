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
        var held = await HeldTransaction.BeginAsync(_server.DataSource, $"SELECT 1 FROM {QualifiedName} WHERE sid = $1 FOR UPDATE", key);
        Assert.Equal(1, held.FirstValue);
        return held;
    }

    /// <summary>A long read of the table (a report, pg_dump) from a connection of the test's own, until the result is disposed.</summary>
    public Task<HeldTransaction> LongReadAsync() => HeldTransaction.BeginAsync(_server.DataSource, $"SELECT count(*) FROM {QualifiedName}");

    /// <summary>
    /// Another instance of the application starting on this table: a cache of its own on the same names and layout,
    /// which makes what is missing on its first call.
    /// </summary>
    public PostgresSessionCache AnotherInstance(ILogger<PostgresSessionCache>? logger = null, TimeSpan? operationTimeout = null) =>
        new(Microsoft.Extensions.Options.Options.Create(new PostgresSessionCacheOptions
        {
            ConnectionString = Options.ConnectionString,
            SchemaName = Options.SchemaName,
            TableName = Options.TableName,
            Partitioning = Options.Partitioning,
            PayloadFormat = Options.PayloadFormat,
            CreateTableIfMissing = true,
            OperationTimeout = operationTimeout ?? SessionCacheProviderOptions.DefaultOperationTimeout,
        }), logger ?? NullLogger<PostgresSessionCache>.Instance, TimeProvider.System);

    public void Dispose() => Cache.Dispose();
}
