namespace DocsSnippets.Snippets;

internal static class PostgresSetUp
{
    public static void PackageRun(WebApplicationBuilder builder)
    {
        #region package-postgres
        builder.Services.AddPostgresSessionCache(options =>
        {
            options.ConnectionString = builder.Configuration.GetConnectionString("Sessions");
            options.UserIdSessionKey = "UserId";   // optional
        });
        builder.Services.AddPostgresSessionCleanup();   // deletes expired sessions, one instance at a time
        builder.Services.AddSession();

        var app = builder.Build();
        app.UseSession();
        #endregion
    }

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
