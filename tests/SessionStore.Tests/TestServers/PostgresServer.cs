using Npgsql;
using SessionStore.LocalServers;
using Testcontainers.PostgreSql;

namespace SessionStore.Tests.TestServers;

/// <summary>The PostgreSQL server of the tests; <c>SESSIONSTORE_TEST_POSTGRES</c> names one of your own.</summary>
public sealed class PostgresServer() : TestServer(
    "PostgreSQL",
    EnvironmentVariable,
    $"Set {EnvironmentVariable} to a connection string, install PostgreSQL (apt-get install postgresql), or start a Docker engine.")
{
    public const string EnvironmentVariable = "SESSIONSTORE_TEST_POSTGRES";

    private NpgsqlDataSource? _dataSource;

    public string ConnectionString => Address;

    /// <summary>A data source for test code's own queries (row counts, statistics, clean-up).</summary>
    public NpgsqlDataSource DataSource => _dataSource ??= NpgsqlDataSource.Create(ConnectionString);

    /// <summary>A table name no other test uses, so tests that count rows or updates see only their own.</summary>
    public static string UniqueTableName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 50)];

    public override async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    protected override async Task<(IAsyncDisposable Server, string Address)?> StartLocalAsync(List<string> reasons)
    {
        if (LocalPostgres.FindBinaries() is not { } binaries)
        {
            reasons.Add("no initdb/pg_ctl on PATH or in /usr/lib/postgresql");
            return null;
        }

        var local = await LocalPostgres.StartAsync(binaries);
        return (local, local.ConnectionString);
    }

    protected override async Task<(IAsyncDisposable Server, string Address)?> StartContainerAsync(List<string> reasons)
    {
        var container = new PostgreSqlBuilder("postgres:15-alpine").Build();
        await container.StartAsync();
        return (container, container.GetConnectionString());
    }
}
