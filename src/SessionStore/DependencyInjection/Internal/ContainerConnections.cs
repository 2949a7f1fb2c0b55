using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using SessionStore.Postgres;
using SessionStore.Redis;
using StackExchange.Redis;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>
/// Where every DI registration borrows the application's own connections: a store with no connection of its own
/// configured uses the container's <see cref="NpgsqlDataSource"/> / <see cref="IConnectionMultiplexer"/> (keyed, when
/// the options name a service key, as Aspire's <c>AddKeyedNpgsqlDataSource</c> / <c>AddKeyedRedisClient</c> register
/// them) and never disposes it.
/// </summary>
internal static class ContainerConnections
{
    public static void Borrow(PostgresSessionCacheOptions options, IServiceProvider provider)
    {
        if (options.NamesConnection)
        {
            return;
        }

        options.DataSource = string.IsNullOrWhiteSpace(options.DataSourceServiceKey)
            ? provider.GetService<NpgsqlDataSource>()
            : provider.GetKeyedService<NpgsqlDataSource>(options.DataSourceServiceKey)
                ?? throw NotRegistered(nameof(NpgsqlDataSource), nameof(options.DataSourceServiceKey), options.DataSourceServiceKey, "AddKeyedNpgsqlDataSource");
    }

    public static void Borrow(RedisSessionCacheOptions options, IServiceProvider provider)
    {
        if (options.NamesConnection)
        {
            return;
        }

        var connection = string.IsNullOrWhiteSpace(options.ConnectionMultiplexerServiceKey)
            ? provider.GetService<IConnectionMultiplexer>()
            : provider.GetKeyedService<IConnectionMultiplexer>(options.ConnectionMultiplexerServiceKey)
                ?? throw NotRegistered(nameof(IConnectionMultiplexer), nameof(options.ConnectionMultiplexerServiceKey), options.ConnectionMultiplexerServiceKey, "AddKeyedRedisClient");
        if (connection is not null)
        {
            options.ConnectionMultiplexerFactory = () => Task.FromResult(connection);
        }
    }

    private static InvalidOperationException NotRegistered(string service, string setting, string key, string aspireMethod) => new(
        $"{setting} is '{key}', but no {service} is registered in the container under that key. Register one with " +
        $"services.AddKeyedSingleton<{service}>(\"{key}\", ...) or Aspire's builder.{aspireMethod}(\"{key}\"), or clear {setting} " +
        $"to use the unkeyed {service} (or the store's own connection settings).");
}
