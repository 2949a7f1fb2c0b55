#region dual-write
using SessionStore.DualWrite;
#endregion

namespace DocsSnippets.Snippets;

internal static class DualWriteSetUp
{
    public static void Run(WebApplicationBuilder builder)
    {
        #region dual-write
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        builder.Services.AddSession();

        var app = builder.Build();
        app.UseSession();
        // DualWriteCache is a singleton in DI: its phase and counters, e.g. for a status page.
        app.MapGet("/migration", (DualWriteCache cache) => new { Phase = cache.Phase.ToString(), Statistics = cache.GetStatistics() });
        var statistics = app.Services.GetRequiredService<DualWriteCache>().GetStatistics();   // outside a request
        #endregion
        _ = statistics;
    }
}
