using SessionStore.LocalServers;

namespace SessionStore.Sample;

/// <summary>
/// Throw-away local PostgreSQL and Redis servers for the stores a configuration leaves without an address, so
/// that the sample and the rehearsal run on a machine with nothing but the server packages installed.
/// </summary>
public sealed class LocalStores : IAsyncDisposable
{
    /// <summary>The key, under the <c>SessionStore</c> section, of the PostgreSQL connection string.</summary>
    public const string PostgresKey = "Postgres:ConnectionString";

    /// <summary>The key, under the <c>SessionStore</c> section, of the StackExchange.Redis configuration string.</summary>
    public const string RedisKey = "Redis:Configuration";

    private readonly List<IAsyncDisposable> _servers = [];
    private readonly Dictionary<string, string?> _settings = [];

    private LocalStores()
    {
    }

    /// <summary>The addresses of the servers started, as configuration keys (full paths) and values.</summary>
    public IReadOnlyDictionary<string, string?> Settings => _settings;

    /// <summary>Starts a server for each store whose address <paramref name="section"/> leaves empty.</summary>
    /// <param name="section">The <c>SessionStore</c> section.</param>
    /// <param name="report">Told about each server started.</param>
    /// <param name="cancellationToken">Stops waiting for a server to start.</param>
    /// <returns>The servers started, possibly none; disposing stops them and deletes their files.</returns>
    public static async Task<LocalStores> StartMissingAsync(IConfigurationSection section, Action<string> report, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(report);
        var stores = new LocalStores();
        try
        {
            if (string.IsNullOrWhiteSpace(section[PostgresKey]))
            {
                var binaries = LocalPostgres.FindBinaries() ?? throw Missing("PostgreSQL (initdb, pg_ctl)", section, PostgresKey);
                var postgres = await LocalPostgres.StartAsync(binaries, cancellationToken: cancellationToken);
                stores.Add(postgres, $"{section.Path}:{PostgresKey}", postgres.ConnectionString);
                report($"Started a throw-away PostgreSQL server on 127.0.0.1:{postgres.Port}; it is deleted on exit.");
            }

            if (string.IsNullOrWhiteSpace(section[RedisKey]))
            {
                var binary = LocalRedis.FindBinary() ?? throw Missing("Redis (redis-server)", section, RedisKey);
                var redis = await LocalRedis.StartAsync(binary, cancellationToken);
                stores.Add(redis, $"{section.Path}:{RedisKey}", redis.Configuration);
                report($"Started a throw-away Redis server on 127.0.0.1:{redis.Port}; it is deleted on exit.");
            }

            return stores;
        }
        catch
        {
            await stores.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the servers and deletes their files.</summary>
    /// <returns>A task that completes when they are gone.</returns>
    public async ValueTask DisposeAsync()
    {
        foreach (var server in Enumerable.Reverse(_servers))
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }

    private void Add(IAsyncDisposable server, string key, string address)
    {
        _servers.Add(server);
        _settings[key] = address;
    }

    private static InvalidOperationException Missing(string server, IConfigurationSection section, string key)
    {
        var variable = $"{section.Path}:{key}".Replace(":", "__", StringComparison.Ordinal);
        return new InvalidOperationException(
            $"{section.Path}:{key} is not set and there is no {server} to start a local server from. " +
            $"Set {variable}, or install the server packages (scripts/install-servers.sh).");
    }
}
