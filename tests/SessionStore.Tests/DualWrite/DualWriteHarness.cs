using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A <see cref="DualWriteCache"/> registered as an application would, on a table and a key prefix of its own,
/// with live configuration and a direct view of each store.
/// </summary>
public sealed class DualWriteHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly string _postgresConnectionString;
    private readonly string _redisConfiguration;

    public DualWriteHarness(string phase, string postgresConnectionString, string redisConfiguration, Action<IDictionary<string, string?>>? configure = null)
    {
        (_postgresConnectionString, _redisConfiguration) = (postgresConnectionString, redisConfiguration);
        var table = PostgresServer.UniqueTableName("dw");
        var prefix = $"dw-{Guid.NewGuid():N}:";
        var settings = new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = phase,
            ["SessionStore:Postgres:ConnectionString"] = postgresConnectionString,
            ["SessionStore:Postgres:TableName"] = table,
            ["SessionStore:Postgres:CreateTableIfMissing"] = "true",
            ["SessionStore:Redis:Configuration"] = redisConfiguration,
            ["SessionStore:Redis:InstanceName"] = prefix,
            ["SessionStore:UserIdSessionKey"] = "UserId",
            ["SessionStore:ComparisonSampleRate"] = "0",
        };
        configure?.Invoke(settings);
        Configuration.AddInMemoryCollection(settings);

        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<IConfiguration>(Configuration);
        services.AddMetrics();
        services.AddDualWriteSessionStore(Configuration.GetSection("SessionStore"));
        _services = services.BuildServiceProvider();

        Postgres = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgresConnectionString, TableName = table, CreateTableIfMissing = true });
        Redis = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = redisConfiguration + ",abortConnect=false", InstanceName = prefix });
    }

    public ConfigurationManager Configuration { get; } = new();

    public IServiceProvider Services => _services;

    public DualWriteCache Cache => _services.GetRequiredService<DualWriteCache>();

    /// <summary>The PostgreSQL store, read directly.</summary>
    public PostgresSessionCache Postgres { get; }

    /// <summary>The Redis store, read directly.</summary>
    public RedisSessionCache Redis { get; }

    public FakeLogCollector Logs => _services.GetRequiredService<FakeLogCollector>();

    /// <summary>The session table, as configured.</summary>
    public string TableName => Configuration["SessionStore:Postgres:TableName"]!;

    /// <summary>Makes every write to the session table fail while reads go on, as a full disk or a revoked grant would; or lifts that.</summary>
    public async Task RefusePostgresWritesAsync(bool refuse)
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(_postgresConnectionString);
        await using var command = dataSource.CreateCommand(refuse
            ? $"""
              CREATE FUNCTION "{TableName}_refuse"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'writes refused by the test'; END $$;
              CREATE TRIGGER "{TableName}_refuse" BEFORE INSERT OR UPDATE OR DELETE ON "{TableName}" FOR EACH STATEMENT EXECUTE FUNCTION "{TableName}_refuse"();
              """
            : $"""DROP TRIGGER "{TableName}_refuse" ON "{TableName}"; DROP FUNCTION "{TableName}_refuse"();""");
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// Makes Redis refuse every write (out of memory) while reads go on; or lifts that. The whole server refuses: only
    /// for a Redis of the test's own, never one that other tests share.
    /// </summary>
    public Task RefuseRedisWritesAsync(bool refuse) => OwnRedis.RefuseWritesAsync(_redisConfiguration, refuse);

    /// <summary>Changes the phase as an edited appsettings file would: the value, then a reload.</summary>
    public string Phase
    {
        set
        {
            Configuration["SessionStore:Phase"] = value;
            ((Microsoft.Extensions.Configuration.IConfigurationRoot)Configuration).Reload();
        }
    }

    /// <summary>Runs the hosted services, as a host's start-up does: this is where the options are validated.</summary>
    public async Task StartAsync()
    {
        foreach (var service in _services.GetServices<IHostedService>())
        {
            await service.StartAsync(TestContext.Current.CancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Postgres.Dispose();
        Redis.Dispose();
        await _services.DisposeAsync();
        Configuration.Dispose();
    }

    /// <summary>Waits for a background effect (a comparison, a catch-up), up to fifteen seconds.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    public static DistributedCacheEntryOptions IdleTimeout => new() { SlidingExpiration = TimeSpan.FromMinutes(20) };
}
