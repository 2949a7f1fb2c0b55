using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SessionStore.DependencyInjection.Internal;
using SessionStore.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="RedisSessionCache"/> as the application's <see cref="IDistributedCache"/>.</summary>
public static class RedisSessionCacheServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RedisSessionCache"/> as the <see cref="IDistributedCache"/>, with its options validated at
    /// start-up. When no configuration or factory is set, an <see cref="IConnectionMultiplexer"/> registered in
    /// the container is borrowed (and never disposed by the cache): the one registered under
    /// <see cref="RedisSessionCacheOptions.ConnectionMultiplexerServiceKey"/> when that is set, as Aspire's
    /// <c>AddKeyedRedisClient</c> registers it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddRedisSessionCache(this IServiceCollection services, Action<RedisSessionCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<RedisSessionCacheOptions>()
            .Configure(configure)
            .Configure<IServiceProvider>((options, provider) => ContainerConnections.Borrow(options, provider))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisSessionCacheOptions>>(
            new OptionsValidator<RedisSessionCacheOptions>(o => o.Validate())));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RedisSessionCache>();
        services.Replace(ServiceDescriptor.Singleton<IDistributedCache>(provider => provider.GetRequiredService<RedisSessionCache>()));
        return services;
    }
}
