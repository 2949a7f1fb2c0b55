using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.DependencyInjection.Internal;
using SessionStore.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="PostgresSessionCache"/> as the application's <see cref="IDistributedCache"/>.</summary>
public static class PostgresSessionCacheServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PostgresSessionCache"/> as the <see cref="IDistributedCache"/>, with its options validated
    /// at start-up. When neither a connection string nor a data source is configured, an
    /// <see cref="NpgsqlDataSource"/> registered in the container is used (and never disposed by the cache): the one
    /// registered under <see cref="PostgresSessionCacheOptions.DataSourceServiceKey"/> when that is set, as Aspire's
    /// <c>AddKeyedNpgsqlDataSource</c> registers it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddPostgresSessionCache(this IServiceCollection services, Action<PostgresSessionCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<PostgresSessionCacheOptions>()
            .Configure(configure)
            .Configure<IServiceProvider>((options, provider) => ContainerConnections.Borrow(options, provider))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresSessionCacheOptions>>(
            new OptionsValidator<PostgresSessionCacheOptions>(o => o.Validate())));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<PostgresSessionCache>();
        services.Replace(ServiceDescriptor.Singleton<IDistributedCache>(provider => provider.GetRequiredService<PostgresSessionCache>()));
        return services;
    }
}
