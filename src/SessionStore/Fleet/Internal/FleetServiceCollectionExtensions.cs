using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace SessionStore.Fleet.Internal;

internal static class FleetServiceCollectionExtensions
{
    /// <summary>The heartbeat as a singleton (the health check asks it) that also runs as a hosted service.</summary>
    public static IServiceCollection AddSessionStoreFleet(this IServiceCollection services)
    {
        services.TryAddSingleton(FleetHeartbeatService.Create);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, FleetHeartbeatService>(provider => provider.GetRequiredService<FleetHeartbeatService>()));
        return services;
    }
}
