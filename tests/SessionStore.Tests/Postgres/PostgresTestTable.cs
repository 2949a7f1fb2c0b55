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

    public void Dispose() => Cache.Dispose();
}
