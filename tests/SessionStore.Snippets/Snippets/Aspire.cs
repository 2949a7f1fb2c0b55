namespace DocsSnippets.Snippets;

internal static class Aspire
{
    public static void Unkeyed(WebApplicationBuilder builder)
    {
        #region aspire-unkeyed
        builder.AddNpgsqlDataSource("sessions-db");       // ConnectionStrings:sessions-db, injected by the AppHost
        builder.AddRedisClient("sessions-cache");         // ConnectionStrings:sessions-cache
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        #endregion
    }

    public static void Keyed(WebApplicationBuilder builder)
    {
        #region aspire-keyed
        builder.AddKeyedNpgsqlDataSource("sessions-db");
        builder.AddKeyedRedisClient("sessions-cache");
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        #endregion
    }

    public static void SingleStore(WebApplicationBuilder builder)
    {
        #region aspire-single-store
        builder.Services.AddPostgresSessionCache(o => o.DataSourceServiceKey = "sessions-db");
        builder.Services.AddRedisSessionCache(o => o.ConnectionMultiplexerServiceKey = "sessions-cache");
        #endregion
    }
}
