namespace DocsSnippets.Snippets;

internal static class PostgresSetUp
{
    public static void DocsRun(WebApplicationBuilder builder)
    {
        #region postgres-setup
        builder.Services.AddPostgresSessionCache(options =>
        {
            options.ConnectionString = builder.Configuration.GetConnectionString("Sessions");
            options.UserIdSessionKey = "UserId";
        });
        builder.Services.AddSession(options => options.IdleTimeout = TimeSpan.FromMinutes(20));
        // …
        var app = builder.Build();
        app.UseSession();
        #endregion
    }
}
