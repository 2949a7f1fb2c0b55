namespace DocsSnippets.Snippets;

internal static class RedisSetUp
{
    public static void ReadmeRun(WebApplicationBuilder builder)
    {
        #region readme-redis
        builder.Services.AddRedisSessionCache(options =>
        {
            options.Configuration = builder.Configuration.GetConnectionString("Redis");
            options.InstanceName = "myapp:";          // the InstanceName RedisCache used
        });
        #endregion
    }

    public static void DocsRun(WebApplicationBuilder builder)
    {
        #region redis-setup
        builder.Services.AddRedisSessionCache(options =>
        {
            options.Configuration = builder.Configuration.GetConnectionString("Redis");
            options.InstanceName = "myapp:";          // the same value RedisCache used, if any
            options.UserIdSessionKey = "UserId";      // optional: enables "log out everywhere"
        });
        #endregion
    }
}
