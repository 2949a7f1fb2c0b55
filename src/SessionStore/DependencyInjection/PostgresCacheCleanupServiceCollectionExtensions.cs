using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SessionStore.Cleanup;
using SessionStore.Cleanup.Internal;
using SessionStore.DependencyInjection.Internal;
using SessionStore.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the hosted service that cleans up the table of the registered <see cref="PostgresCache"/>.</summary>
public static class PostgresCacheCleanupServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PostgresCacheCleaner"/> and a hosted service that runs it on a schedule, on the table,
    /// schema and data source of the <see cref="PostgresCache"/> registered by <c>AddPostgresCache</c>. Options are
    /// validated at start-up and read again at every run.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; null keeps the defaults (or what configuration binds).</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddPostgresCacheCleanup(this IServiceCollection services, Action<PostgresCleanupOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<PostgresCleanupOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresCleanupOptions>>(
            new OptionsValidator<PostgresCleanupOptions>(o => o.Validate())));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new PostgresCacheCleaner(
            provider.GetRequiredService<PostgresCache>(),
            provider.GetRequiredService<IOptionsMonitor<PostgresCleanupOptions>>(),
            provider.GetRequiredService<ILogger<PostgresCacheCleaner>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetService<IMeterFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgresCleanupService>(provider => new PostgresCleanupService(
            provider.GetRequiredService<PostgresCacheCleaner>,
            provider.GetRequiredService<IOptionsMonitor<PostgresCleanupOptions>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<PostgresCleanupService>>())));
        return services;
    }
}
