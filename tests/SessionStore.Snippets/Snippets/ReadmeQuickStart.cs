namespace DocsSnippets.Snippets;

internal static class ReadmeQuickStart
{
    public static void Run(string[] args)
    {
        #region quick-start-postgres
        // Program.cs of a `dotnet new web` app. AddPostgresSessionCache is in Microsoft.Extensions.DependencyInjection.
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddPostgresSessionCache(options =>
        {
            options.ConnectionString = builder.Configuration.GetConnectionString("Sessions");
            options.UserIdSessionKey = "UserId";      // optional: fills the user_id column
            options.CreateTableIfMissing = true;      // or create it at deployment: see below
        });
        builder.Services.AddPostgresSessionCleanup(); // deletes expired sessions, one instance at a time
        builder.Services.AddSession(options => options.IdleTimeout = TimeSpan.FromMinutes(20));

        var app = builder.Build();
        app.UseSession();                             // the standard middleware, unchanged
        app.MapGet("/", async (HttpContext context) =>
        {
            await context.Session.LoadAsync();        // asynchronous load: see "When a store fails" in docs/migration-guide.md
            var visits = (context.Session.GetInt32("Visits") ?? 0) + 1;
            context.Session.SetInt32("Visits", visits);
            return $"visit {visits}";
        });
        app.Run();
        #endregion
    }
}
