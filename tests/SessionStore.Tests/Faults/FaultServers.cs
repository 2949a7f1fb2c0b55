using Npgsql;
using SessionStore.LocalServers;
using StackExchange.Redis;

namespace SessionStore.Tests.Faults;

/// <summary>
/// A PostgreSQL and a Redis server of the fault tests' own, since hanging them would stall every other test on
/// the shared ones. Skipped (with the reason) when the binaries are not installed.
/// </summary>
public sealed class FaultServers : IAsyncLifetime
{
    private LocalPostgres? _postgres;
    private LocalRedis? _redis;

    public string PostgresConnectionString => _postgres!.ConnectionString;

    public string RedisConfiguration => _redis!.Configuration;

    public async ValueTask InitializeAsync()
    {
        var binaries = LocalPostgres.FindBinaries();
        var redis = LocalRedis.FindBinary();
        Assert.SkipWhen(binaries is null || redis is null, "The fault tests start their own PostgreSQL and Redis: install both (scripts/install-servers.sh).");
        _postgres = await LocalPostgres.StartAsync(binaries!);
        _redis = await LocalRedis.StartAsync(redis!);
    }

    /// <summary>The postmaster and every backend it has forked so far.</summary>
    internal async Task<ProcessFreezer> PostgresFreezerAsync()
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_setting('data_directory')", connection);
        var dataDirectory = (string)(await command.ExecuteScalarAsync())!;
        var postmaster = int.Parse((await File.ReadAllLinesAsync(Path.Combine(dataDirectory, "postmaster.pid")))[0]);
        return ProcessFreezer.ForTree(postmaster);
    }

    internal async Task<ProcessFreezer> RedisFreezerAsync()
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration + ",allowAdmin=true");
        var info = await connection.GetServer(connection.GetEndPoints()[0]).InfoAsync("server");
        var processId = info.SelectMany(group => group).Single(pair => pair.Key == "process_id").Value;
        return ProcessFreezer.ForProcess(int.Parse(processId));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_postgres is not null)
            {
                await _postgres.DisposeAsync();
            }
        }
        finally
        {
            if (_redis is not null)
            {
                await _redis.DisposeAsync();
            }
        }
    }
}
