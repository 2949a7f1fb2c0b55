using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.DependencyInjection;

/// <summary>
/// An app that registers its connections with Aspire.Npgsql and Aspire.StackExchange.Redis (keyed or not) points
/// each registration at them by configuration, and Aspire's health checks and telemetry sit beside SessionStore's.
/// </summary>
public sealed class AspireConnectionTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddPostgresSessionCache_borrows_the_data_source_Aspire_registered(bool keyed)
    {
        var table = await RegisteredCache.CreateTableAsync(postgres, "aspire");
        var builder = Builder(new() { ["ConnectionStrings:sessions"] = postgres.ConnectionString });
        if (keyed)
        {
            builder.AddKeyedNpgsqlDataSource("sessions");
        }
        else
        {
            builder.AddNpgsqlDataSource("sessions");
        }

        builder.Services.AddPostgresSessionCache(o =>
        {
            o.TableName = table;
            o.DataSourceServiceKey = keyed ? "sessions" : null;
        });
        using var host = builder.Build();

        var aspireDataSource = keyed ? host.Services.GetRequiredKeyedService<NpgsqlDataSource>("sessions") : host.Services.GetRequiredService<NpgsqlDataSource>();
        Assert.Same(aspireDataSource, host.Services.GetRequiredService<IOptions<PostgresSessionCacheOptions>>().Value.DataSource);
        await RegisteredCache.AssertRoundTripAsync(Assert.IsType<PostgresSessionCache>(host.Services.GetRequiredService<IDistributedCache>()));
        await AssertAllHealthyAsync(host, expectSessionStore: false);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddRedisSessionCache_borrows_the_multiplexer_Aspire_registered(bool keyed)
    {
        var builder = Builder(new() { ["ConnectionStrings:sessions"] = redis.Configuration });
        if (keyed)
        {
            builder.AddKeyedRedisClient("sessions");
        }
        else
        {
            builder.AddRedisClient("sessions");
        }

        builder.Services.AddRedisSessionCache(o =>
        {
            o.InstanceName = $"aspire-{Guid.NewGuid():N}:";
            o.ConnectionMultiplexerServiceKey = keyed ? "sessions" : null;
        });
        using var host = builder.Build();

        var aspireConnection = keyed ? host.Services.GetRequiredKeyedService<IConnectionMultiplexer>("sessions") : host.Services.GetRequiredService<IConnectionMultiplexer>();
        var factory = host.Services.GetRequiredService<IOptions<RedisSessionCacheOptions>>().Value.ConnectionMultiplexerFactory;
        Assert.NotNull(factory);
        Assert.Same(aspireConnection, await factory());
        await RegisteredCache.AssertRoundTripAsync(Assert.IsType<RedisSessionCache>(host.Services.GetRequiredService<IDistributedCache>()));
        await AssertAllHealthyAsync(host, expectSessionStore: false);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddDualWriteSessionStore_borrows_both_Aspire_connections_named_in_its_configuration(bool keyed)
    {
        var table = await RegisteredCache.CreateTableAsync(postgres, "aspire");
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:postgres"] = postgres.ConnectionString,
            ["ConnectionStrings:redis"] = redis.Configuration,
            ["SessionStore:Phase"] = "DualWriteRedisPrimary",
            ["SessionStore:Postgres:TableName"] = table,
            ["SessionStore:Redis:InstanceName"] = $"aspire-{Guid.NewGuid():N}:",
        };
        if (keyed)
        {
            settings["SessionStore:Postgres:DataSourceServiceKey"] = "postgres";
            settings["SessionStore:Redis:ConnectionMultiplexerServiceKey"] = "redis";
        }

        var builder = Builder(settings);
        if (keyed)
        {
            builder.AddKeyedNpgsqlDataSource("postgres");
            builder.AddKeyedRedisClient("redis");
        }
        else
        {
            builder.AddNpgsqlDataSource("postgres");
            builder.AddRedisClient("redis");
        }

        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection(SessionStoreOptions.SectionName));
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>().CurrentValue;
        var aspireDataSource = keyed ? host.Services.GetRequiredKeyedService<NpgsqlDataSource>("postgres") : host.Services.GetRequiredService<NpgsqlDataSource>();
        var aspireConnection = keyed ? host.Services.GetRequiredKeyedService<IConnectionMultiplexer>("redis") : host.Services.GetRequiredService<IConnectionMultiplexer>();
        Assert.Same(aspireDataSource, options.Postgres.DataSource);
        Assert.NotNull(options.Redis.ConnectionMultiplexerFactory);
        Assert.Same(aspireConnection, await options.Redis.ConnectionMultiplexerFactory());
        var cache = Assert.IsType<DualWriteCache>(host.Services.GetRequiredService<IDistributedCache>());
        await RegisteredCache.AssertRoundTripAsync(cache);
        await AssertAllHealthyAsync(host, expectSessionStore: true);
    }

    [Fact]
    public async Task A_service_key_nothing_is_registered_under_stops_start_up_naming_the_setting_and_the_key()
    {
        var builder = Builder(new() { ["ConnectionStrings:sessions"] = postgres.ConnectionString });
        builder.AddKeyedNpgsqlDataSource("sessions");
        builder.Services.AddPostgresSessionCache(o => o.DataSourceServiceKey = "sesions");
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync(Token));

        Assert.Contains("DataSourceServiceKey is 'sesions'", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddKeyedNpgsqlDataSource(\"sesions\")", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_keyed_multiplexer_missing_stops_start_up_naming_the_setting()
    {
        var builder = Builder([]);
        builder.Services.AddRedisSessionCache(o => o.ConnectionMultiplexerServiceKey = "cache");
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync(Token));

        Assert.Contains("ConnectionMultiplexerServiceKey is 'cache'", error.Message, StringComparison.Ordinal);
    }

    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        return builder;
    }

    /// <summary>Aspire's own checks and SessionStore's register under different names and all pass.</summary>
    private static async Task AssertAllHealthyAsync(IHost host, bool expectSessionStore)
    {
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token);

        Assert.True(report.Status == HealthStatus.Healthy, string.Join("; ", report.Entries.Select(e => $"{e.Key}: {e.Value.Status} {e.Value.Description} {e.Value.Exception?.Message}")));
        Assert.True(report.Entries.Count >= (expectSessionStore ? 2 : 1), string.Join(", ", report.Entries.Keys));
        Assert.Equal(expectSessionStore, report.Entries.ContainsKey("sessionstore"));
    }
}
