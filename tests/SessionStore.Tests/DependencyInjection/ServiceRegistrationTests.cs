using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.Cleanup.Internal;
using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.DependencyInjection;

/// <summary>
/// What AddPostgresSessionCache, AddRedisSessionCache, AddPostgresSessionCleanup and both AddDualWriteSessionStore overloads
/// register, that they borrow the container's NpgsqlDataSource / IConnectionMultiplexer when no connection is
/// configured, and that a missing setting stops start-up with the setting named.
/// </summary>
public sealed class ServiceRegistrationTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddPostgresSessionCache_registers_PostgresSessionCache_and_borrows_the_containers_data_source()
    {
        var table = await RegisteredCache.CreateTableAsync(postgres, "di");
        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
        var services = new ServiceCollection().AddLogging().AddSingleton(dataSource);

        services.AddPostgresSessionCache(o => o.TableName = table);
        await using var provider = services.BuildServiceProvider();

        var cache = Assert.IsType<PostgresSessionCache>(provider.GetRequiredService<IDistributedCache>());
        Assert.Same(cache, provider.GetRequiredService<PostgresSessionCache>());
        Assert.Same(dataSource, provider.GetRequiredService<IOptions<PostgresSessionCacheOptions>>().Value.DataSource);
        await RegisteredCache.AssertRoundTripAsync(cache);
    }

    [Fact]
    public async Task AddPostgresSessionCache_without_a_connection_fails_start_up_naming_ConnectionString()
    {
        using var host = Host(services => services.AddPostgresSessionCache(o => o.TableName = "sessions"));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));

        Assert.Contains("ConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddRedisSessionCache_registers_RedisSessionCache_and_borrows_the_containers_multiplexer()
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(redis.Connection);

        services.AddRedisSessionCache(o => o.InstanceName = $"di-{Guid.NewGuid():N}:");
        await using var provider = services.BuildServiceProvider();

        var cache = Assert.IsType<RedisSessionCache>(provider.GetRequiredService<IDistributedCache>());
        var factory = provider.GetRequiredService<IOptions<RedisSessionCacheOptions>>().Value.ConnectionMultiplexerFactory;
        Assert.NotNull(factory);
        Assert.Same(redis.Connection, await factory());
        await RegisteredCache.AssertRoundTripAsync(cache);
    }

    [Fact]
    public async Task AddRedisSessionCache_without_a_connection_fails_start_up_naming_Configuration()
    {
        using var host = Host(services => services.AddRedisSessionCache(_ => { }));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));

        Assert.Contains("Configuration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddPostgresSessionCleanup_registers_the_cleanup_service_and_refuses_bad_options_at_start_up()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddPostgresSessionCache(o => o.ConnectionString = postgres.ConnectionString);
        services.AddPostgresSessionCleanup();
        await using (var provider = services.BuildServiceProvider())
        {
            Assert.Contains(provider.GetServices<IHostedService>(), s => s is PostgresCleanupService);
            Assert.NotNull(provider.GetRequiredService<SessionStore.Cleanup.PostgresSessionCleaner>());
        }

        using var host = Host(s => s
            .AddPostgresSessionCache(o => o.ConnectionString = postgres.ConnectionString)
            .AddPostgresSessionCleanup(o => o.BatchSize = 0));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Token));

        Assert.Contains("BatchSize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddDualWriteSessionStore_from_configuration_registers_the_cache_the_revoker_the_services_and_the_health_check()
    {
        var table = await RegisteredCache.CreateTableAsync(postgres, "di");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Phase"] = "DualWriteRedisPrimary",
            ["Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Postgres:TableName"] = table,
            ["Redis:Configuration"] = redis.Configuration,
            ["Redis:InstanceName"] = $"di-{Guid.NewGuid():N}:",
        }).Build();
        var services = new ServiceCollection().AddLogging();

        services.AddDualWriteSessionStore(configuration);
        await using var provider = services.BuildServiceProvider();

        var cache = Assert.IsType<DualWriteCache>(provider.GetRequiredService<IDistributedCache>());
        Assert.Same(cache, provider.GetRequiredService<IUserSessionRevoker>());
        var hosted = provider.GetServices<IHostedService>().ToList();
        Assert.Contains(hosted, s => s is PostgresCleanupService);
        Assert.Contains(hosted, s => s.GetType().Name == "SessionStoreStartupValidation");
        var registration = Assert.Single(provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations, r => r.Name == "sessionstore");
        Assert.Contains("sessionstore", registration.Tags);
        await RegisteredCache.AssertRoundTripAsync(cache);
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "sessionstore", Token);
        Assert.Equal(HealthStatus.Healthy, report.Status);
    }

    [Fact]
    public async Task AddDualWriteSessionStore_with_an_action_borrows_the_containers_data_source_and_multiplexer()
    {
        var table = await RegisteredCache.CreateTableAsync(postgres, "di");
        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
        var services = new ServiceCollection().AddLogging().AddSingleton(dataSource).AddSingleton(redis.Connection);

        services.AddDualWriteSessionStore(o =>
        {
            o.Phase = SessionStorePhase.DualWritePostgresPrimary;
            o.Postgres.TableName = table;
            o.Redis.InstanceName = $"di-{Guid.NewGuid():N}:";
        });
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue;
        Assert.Same(dataSource, options.Postgres.DataSource);
        Assert.NotNull(options.Redis.ConnectionMultiplexerFactory);
        Assert.Same(redis.Connection, await options.Redis.ConnectionMultiplexerFactory());
        var cache = Assert.IsType<DualWriteCache>(provider.GetRequiredService<IDistributedCache>());
        Assert.Same(cache, provider.GetRequiredService<IUserSessionRevoker>());
        await RegisteredCache.AssertRoundTripAsync(cache);
    }

    [Fact]
    public async Task AddDualWriteSessionStore_without_PostgreSQL_in_a_dual_phase_fails_start_up_naming_the_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Phase"] = "DualWriteRedisPrimary",
            ["Redis:Configuration"] = redis.Configuration,
        }).Build();
        using var host = Host(services => services.AddDualWriteSessionStore(configuration));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));

        Assert.Contains("SessionStore:Postgres:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SecondaryTimeout", "2s", "'2s' at 'SessionStore:SecondaryTimeout'")]
    [InlineData("Cleanup:Interval", "5m", "'5m' at 'SessionStore:Cleanup:Interval'")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;Port=notaport", "ConnectionString cannot be read")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;Pasword=secret", "ConnectionString cannot be read")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;Password=ab;secret", "ConnectionString cannot be read")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;Password=ab;secret=cd", "ConnectionString cannot be read: item 3 (counting from 1, split at ';') names no setting")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;SSL Mode=secret", "ConnectionString cannot be read: ssl mode is given a value it does not take")]
    [InlineData("Postgres:ConnectionString", "Username=app;Password=secret", "ConnectionString cannot be used: Host is not set")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;Password=secret;Multiplexing=true;Pooling=false", "ConnectionString cannot be used: Pooling must be on to use multiplexing")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;Password=secret;Port=99999", "ConnectionString cannot be used: Port must be between 1 and 65535")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;Password=secret;Minimum Pool Size=10;Maximum Pool Size=5", "ConnectionString cannot be used: Npgsql refuses how its settings combine")]
    [InlineData("Redis:Configuration", "127.0.0.1,foo=bar", "Configuration cannot be read: item 2 (counting from 1, split at ',') names no setting")]
    [InlineData("Redis:Configuration", "127.0.0.1,password=ab,secret=cd", "Configuration cannot be read: item 3")]
    [InlineData("Redis:Configuration", "127.0.0.1,connectTimeout=secret", "Configuration cannot be read: connectTimeout is given a value it does not take")]
    [InlineData("Redis:Configuration", "127.0.0.1,password=secret,defaultDatabase=-5", "Configuration's defaultDatabase is -5; it must be 0 or more")]
    [InlineData("Redis:Configuration", "abortConnect=false", "Configuration names no server")]
    [InlineData("Redis:Configuration", "password=secret", "Configuration names no server")]
    [InlineData("Redis:Configuration", ",", "Configuration names no server")]
    public async Task AddDualWriteSessionStore_with_a_value_that_cannot_be_read_fails_start_up_naming_it(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "DualWriteRedisPrimary",
            ["SessionStore:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["SessionStore:Redis:Configuration"] = redis.Configuration,
        };
        settings[$"SessionStore:{key}"] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var host = Host(services => services.AddDualWriteSessionStore(configuration.GetSection("SessionStore")));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_section_that_cannot_be_bound_and_names_no_phase_fails_start_up_with_the_binders_error()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "dual-pg-primry",
            ["SessionStore:SecondaryTimeout"] = "2s",
        }).Build();
        using var host = Host(services => services.AddDualWriteSessionStore(configuration.GetSection("SessionStore")));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Token));

        Assert.Contains("'2s' at 'SessionStore:SecondaryTimeout'", error.Message, StringComparison.Ordinal);
    }

    private static IHost Host(Action<IServiceCollection> configure)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        configure(builder.Services);
        return builder.Build();
    }
}
