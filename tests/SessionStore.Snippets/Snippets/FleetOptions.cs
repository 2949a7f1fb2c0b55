namespace DocsSnippets.Snippets;

internal static class FleetOptions
{
    public static void Run(WebApplicationBuilder builder)
    {
        #region fleet-options
        builder.Services.Configure<SessionStore.Fleet.SessionStoreFleetOptions>(builder.Configuration.GetSection("SessionStore:Fleet"));
        // "Fleet": { "InstanceName": "web-3", "HeartbeatInterval": "00:00:15", "StaleAfter": "00:01:00", "Enabled": true }
        #endregion
    }
}
