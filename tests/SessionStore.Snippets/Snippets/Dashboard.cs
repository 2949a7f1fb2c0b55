#region dashboard
using SessionStore.Dashboard;   // package SessionStore.Dashboard
#endregion

namespace DocsSnippets.Snippets;

internal static class Dashboard
{
    public static void Run(WebApplicationBuilder builder)
    {
        #region dashboard
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        builder.Services.AddSessionStoreDashboard();
        builder.Services.AddAuthorization(options => options.AddPolicy("ops", policy => policy.RequireRole("ops")));

        var app = builder.Build();
        // /dashboard and /dashboard/data: operational data (instance names, traffic, errors), never public.
        app.MapSessionStoreDashboard().RequireAuthorization("ops");
        #endregion
    }
}
