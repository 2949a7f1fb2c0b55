using Npgsql;
using SessionStore.LocalServers;
using Testcontainers.PostgreSql;

namespace SessionStore.Tests.TestServers;

/// <summary>
/// The PostgreSQL server shared by every test in the assembly, taken in this order: the connection string in
/// <c>SESSIONSTORE_TEST_POSTGRES</c>; a throw-away local server from the installed binaries; a Testcontainers
/// container when a Docker engine answers.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "SESSIONSTORE_TEST_POSTGRES";

    private string? _connectionString;
    private string _unavailableReason = "not started";
    private IAsyncDisposable? _owned;
    private NpgsqlDataSource? _dataSource;

    /// <summary>The server's connection string; skips (locally) or fails (on CI) the calling test when there is none.</summary>
    public string ConnectionString => _connectionString ?? throw ServerRequirement.Unavailable(
        "PostgreSQL",
        _unavailableReason,
        $"Set {EnvironmentVariable} to a connection string, install PostgreSQL (apt-get install postgresql), or start a Docker engine.");

    /// <summary>A data source for test code's own queries (row counts, statistics, clean-up).</summary>
    public NpgsqlDataSource DataSource => _dataSource ??= NpgsqlDataSource.Create(ConnectionString);

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured)
        {
            _connectionString = configured;
            return;
        }

        var reasons = new List<string>();
        if (LocalPostgres.FindBinaries() is { } binaries)
        {
            try
            {
                var local = await LocalPostgres.StartAsync(binaries);
                (_owned, _connectionString) = (local, local.ConnectionString);
                return;
            }
            catch (Exception e)
            {
                reasons.Add($"the local server in {binaries} did not start: {e.Message}");
            }
        }
        else
        {
            reasons.Add("no initdb/pg_ctl on PATH or in /usr/lib/postgresql");
        }

        try
        {
            var container = new PostgreSqlBuilder("postgres:15-alpine").Build();
            await container.StartAsync();
            (_owned, _connectionString) = (container, container.GetConnectionString());
        }
        catch (Exception e)
        {
            reasons.Add($"no Docker container either: {e.GetType().Name}: {e.Message}");
            _unavailableReason = string.Join("; ", reasons);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_owned is not null)
        {
            await _owned.DisposeAsync();
        }
    }

    /// <summary>A table name no other test uses, so tests that count rows or updates see only their own.</summary>
    public static string UniqueTableName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 50)];
}
