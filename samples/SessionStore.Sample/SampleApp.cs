using SessionStore.DualWrite;
using SessionStore.Dashboard;

namespace SessionStore.Sample;

/// <summary>
/// The sample application: sessions on <see cref="DualWriteCache"/>, whose phase is read live from the
/// <c>SessionStore</c> section. <c>dotnet run</c> builds it through Program.cs; the migration rehearsal builds
/// it in-process and drives it over HTTP.
/// </summary>
public static class SampleApp
{
    /// <summary>Builds the application; stores left unconfigured get throw-away local servers, stopped with it.</summary>
    /// <param name="args">Command-line arguments, as for <see cref="WebApplication.CreateBuilder(string[])"/>.</param>
    /// <param name="configure">Runs before the stores are looked at, e.g. to add a configuration source.</param>
    /// <returns>The application, not started yet.</returns>
    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddSampleTelemetry(); // OpenTelemetry traces and metrics, to the console in Development (SampleTelemetry.cs)

        var section = builder.Configuration.GetSection(SessionStoreOptions.SectionName);
        var localStores = await LocalStores.StartMissingAsync(section, Console.WriteLine);
        builder.Configuration.AddInMemoryCollection(localStores.Settings);

        // Registered through a factory and resolved below, so that the container owns the servers and stops them
        // when the application is disposed, after the cache that uses them.
        builder.Services.AddSingleton(_ => localStores);
        builder.Services.AddDualWriteSessionStore(section);
        builder.Services.AddSession(ConfigureSession);
        builder.Services.AddSessionStoreDashboard();

        var app = builder.Build();
        app.Services.GetRequiredService<LocalStores>();
        app.UseSession();
        SessionPages.Map(app);
        app.MapGet("/sign-out-everywhere", SignOutEverywhereAsync);
        app.MapGet("/status", (DualWriteCache cache) => StatusPage.Render(cache.GetStatistics()));
        app.MapHealthChecks("/health");
        // /dashboard: latencies, mismatches, repairs, breakers and the fleet, charted live. Open to anyone here, as the
        // sample has no users; a real application adds .RequireAuthorization(...) (docs/dashboard.md).
        app.MapSessionStoreDashboard();
        return app;
    }

    /// <summary>The session settings of the sample, shared with the rehearsal's pre-migration app so both read the same sessions.</summary>
    /// <param name="options">The options to set.</param>
    public static void ConfigureSession(SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.IdleTimeout = TimeSpan.FromMinutes(20);
        options.Cookie.IsEssential = true;
    }

    private static async Task<string> SignOutEverywhereAsync(HttpContext context, IUserSessionRevoker revoker, CancellationToken aborted)
    {
        await context.Session.LoadAsync(aborted);
        if (context.Session.GetString(SessionPages.UserIdKey) is not { } user)
        {
            return "Not signed in: nobody to sign out.\n";
        }

        var revoked = await revoker.RevokeUserSessionsAsync(user, aborted);
        return $"Signed {user} out of {revoked} session(s), this one included.\n";
    }
}
