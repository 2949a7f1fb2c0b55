using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Microsoft.Extensions.Hosting;
using SessionStore;
using SessionStore.Cleanup;
using SessionStore.Cleanup.Internal;
using SessionStore.DependencyInjection.Internal;
using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;
using SessionStore.Fleet.Internal;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the migration cache, <see cref="DualWriteCache"/>, as the application's <see cref="IDistributedCache"/>.</summary>
public static class SessionStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DualWriteCache"/> as the <see cref="IDistributedCache"/> (and <see cref="IUserSessionRevoker"/>),
    /// configured from a section shaped like <see cref="SessionStoreOptions"/> (usually <c>SessionStore</c>):
    /// <c>Phase</c>, <c>Postgres:*</c>, <c>Redis:*</c>, <c>Cleanup:*</c> and the dual-write settings. The
    /// cleanup of expired PostgreSQL rows runs as a hosted service in the phases that write PostgreSQL. The phase is read live, so an
    /// edit of the section takes effect on the next request. Start-up fails, listing every problem, when the
    /// phase names none or a store it needs is not configured. Health checks are registered as <c>sessionstore</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section to bind, e.g. <c>builder.Configuration.GetSection("SessionStore")</c>.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddDualWriteSessionStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        // Bound as OptionsBuilder.Bind would, live, but never throwing: see SessionStoreOptions.BindFrom.
        services.AddOptions<SessionStoreOptions>().Configure(options => options.BindFrom(configuration));
        services.AddSingleton<IOptionsChangeTokenSource<SessionStoreOptions>>(new ConfigurationChangeTokenSource<SessionStoreOptions>(configuration));
        services.TryAddSingleton(provider => PhaseSource.FromConfiguration(configuration, () => provider.GetService<IConfiguration>()));
        return services.AddDualWriteSessionStoreCore();
    }

    /// <summary>Registers <see cref="DualWriteCache"/> configured in code; see the <see cref="IConfiguration"/> overload.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddDualWriteSessionStore(this IServiceCollection services, Action<SessionStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<SessionStoreOptions>().Configure(configure);
        services.TryAddSingleton(PhaseSource.Code);
        return services.AddDualWriteSessionStoreCore();
    }

    private static IServiceCollection AddDualWriteSessionStoreCore(this IServiceCollection services)
    {
        services.AddOptions<SessionStoreOptions>().PostConfigure<IServiceProvider>((options, provider) =>
        {
            options.ApplyUserIdSessionKey();
            ContainerConnections.Borrow(options.Postgres, provider);
            ContainerConnections.Borrow(options.Redis, provider);
        });

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new SessionStoreInstruments(provider.GetService<IMeterFactory>()));
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>();
            var time = provider.GetRequiredService<TimeProvider>();
            var loggers = provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;

            // A store is built the first time a phase needs it, from the options in force then: an application
            // in RedisOnly needs no PostgreSQL until it moves on.
            return new DualWriteCache(
                options,
                o => new PostgresSessionCache(o.Postgres, loggers.CreateLogger<PostgresSessionCache>(), time),
                o => new RedisSessionCache(o.Redis, loggers.CreateLogger<RedisSessionCache>(), time),
                provider.GetRequiredService<PhaseSource>(),
                provider.GetRequiredService<SessionStoreInstruments>(),
                time,
                loggers.CreateLogger<DualWriteCache>());
        });
        services.Replace(ServiceDescriptor.Singleton<IDistributedCache>(provider => provider.GetRequiredService<DualWriteCache>()));
        services.TryAddSingleton<IUserSessionRevoker>(provider => provider.GetRequiredService<DualWriteCache>());

        // Expired rows are cleaned while the phase writes PostgreSQL; the table's cache is built only then.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgresCleanupService>(provider =>
        {
            var cache = provider.GetRequiredService<DualWriteCache>();
            var loggers = provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            var options = LiveOptions.CleanupOf(provider.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>(), loggers);
            var time = provider.GetRequiredService<TimeProvider>();
            // The store is built again when its connection settings change; the cleaner follows it.
            (PostgresSessionCache Store, PostgresSessionCleaner Cleaner)? cleaner = null;
            return new PostgresCleanupService(
                () =>
                {
                    if (!PhaseRoles.StoresOf(cache.Phase).Postgres)
                    {
                        return null;
                    }

                    var store = (PostgresSessionCache)cache.PostgresStore;
                    if (cleaner?.Store != store)
                    {
                        cleaner = (store, new PostgresSessionCleaner(store, options, loggers.CreateLogger<PostgresSessionCleaner>(), time, provider.GetService<IMeterFactory>()));
                    }

                    return cleaner.Value.Cleaner;
                },
                options,
                time,
                loggers.CreateLogger<PostgresCleanupService>());
        }));

        // Validated by a hosted service, not IValidateOptions: options are rebuilt when configuration reloads, and
        // a validator would then throw inside the reload. A bad phase at run time is logged and ignored instead.
        LiveOptions.AddRestartWarnings(services);
        services.AddHostedService(provider => new SessionStoreStartupValidation(
            provider.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>(),
            provider.GetRequiredService<PhaseSource>(),
            (provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger<DualWriteCache>()));
        services.AddSessionStoreFleet(); // each instance's phase and heartbeat in <table>_instances (SessionStore.Fleet)
        services.AddHealthChecks().AddCheck<SessionStoreHealthCheck>("sessionstore", tags: ["sessionstore"]);
        return services;
    }
}
