using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using SessionStore.Sample;

namespace SessionStore.Rehearsal;

/// <summary>
/// The sample's session pages as they ran before the migration: on Microsoft's <c>RedisCache</c>
/// (<c>AddStackExchangeRedisCache</c>), so the seeded sessions are exactly what such an application leaves in Redis.
/// </summary>
internal static class LegacyApp
{
    /// <summary>Builds the application on a free loopback port.</summary>
    /// <param name="redisConfiguration">The Redis server.</param>
    /// <param name="instanceName">The key prefix; the migrated application must use the same.</param>
    /// <param name="dataProtection">The migrated application's key ring, so that it can read the session cookies issued here.</param>
    public static WebApplication Build(string redisConfiguration, string? instanceName, IDataProtectionProvider dataProtection)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(MigrationRehearsal.QuietLogging);
        builder.Services.AddSingleton(dataProtection);
        builder.Services.AddStackExchangeRedisCache(options =>
        {
            options.Configuration = redisConfiguration;
            options.InstanceName = instanceName;
        });
        builder.Services.AddSession(SampleApp.ConfigureSession);

        var app = builder.Build();
        app.UseSession();
        SessionPages.Map(app);
        return app;
    }
}
