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

/// <summary>Registers the hosted service that cleans up the table of the registered <see cref="PostgresSessionCache"/>.</summary>
public static class PostgresSessionCleanupServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PostgresSessionCleaner"/> and a hosted service that runs it on a schedule, on the table,
    /// schema and data source of the <see cref="PostgresSessionCache"/> registered by <c>AddPostgresSessionCache</c>. Options are
    /// validated at start-up and read again at every run; a reloaded value that is invalid is logged (event
    /// <see cref="SessionStore.SessionStoreEventIds.OptionsReloadRefused"/>) and the last valid options stay in force.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; null keeps the defaults (or what configuration binds).</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddPostgresSessionCleanup(this IServiceCollection services, Action<PostgresCleanupOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<PostgresCleanupOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Checked at start-up by a hosted service rather than IValidateOptions, which would throw inside each
        // configuration reload: a bad reload is logged and the last valid options stay in force instead.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OptionsStartupValidation<PostgresCleanupOptions>>(provider =>
            new OptionsStartupValidation<PostgresCleanupOptions>(provider.GetRequiredService<IOptionsMonitor<PostgresCleanupOptions>>(), o => o.Validate())));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new LastValidOptionsMonitor<PostgresCleanupOptions>(
            provider.GetRequiredService<IOptionsMonitor<PostgresCleanupOptions>>(),
            o => o.Validate(),
            nameof(PostgresCleanupOptions),
            provider.GetRequiredService<ILogger<PostgresCleanupOptions>>()));
        services.TryAddSingleton(provider => new PostgresSessionCleaner(
            provider.GetRequiredService<PostgresSessionCache>(),
            provider.GetRequiredService<LastValidOptionsMonitor<PostgresCleanupOptions>>(),
            provider.GetRequiredService<ILogger<PostgresSessionCleaner>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetService<IMeterFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgresCleanupService>(provider => new PostgresCleanupService(
            provider.GetRequiredService<PostgresSessionCleaner>,
            provider.GetRequiredService<LastValidOptionsMonitor<PostgresCleanupOptions>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<PostgresCleanupService>>())));
        return services;
    }
}
