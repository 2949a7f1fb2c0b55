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

    public PostgresTestTable(PostgresServer server, Action<PostgresCacheOptions>? configure = null, ILogger<PostgresCache>? logger = null, TimeProvider? time = null)
    {
        _server = server;
        Options = new PostgresCacheOptions
        {
            ConnectionString = server.ConnectionString,
            TableName = PostgresServer.UniqueTableName("t"),
            CreateTableIfMissing = true,
        };
        configure?.Invoke(Options);
        Cache = new PostgresCache(Options, logger ?? NullLogger<PostgresCache>.Instance, time ?? TimeProvider.System);
    }

    public PostgresCacheOptions Options { get; }

    public PostgresCache Cache { get; }

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

    public void Dispose() => Cache.Dispose();
}
