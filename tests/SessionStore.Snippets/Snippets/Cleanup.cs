namespace DocsSnippets.Snippets;

internal static class Cleanup
{
    public static void Run(WebApplicationBuilder builder)
    {
        #region cleanup-registration
        builder.Services.AddPostgresSessionCache(options => { /* … */ });
        builder.Services.AddPostgresSessionCleanup(options =>
            builder.Configuration.GetSection("SessionStore:Cleanup").Bind(options));
        #endregion
    }
}
