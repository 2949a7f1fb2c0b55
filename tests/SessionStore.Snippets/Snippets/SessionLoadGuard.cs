namespace DocsSnippets.Snippets;

internal static class SessionLoadGuard
{
    public static void Run(WebApplication app)
    {
        #region session-load-guard
        app.UseSession();
        app.Use(async (context, next) =>
        {
            try
            {
                await context.Session.LoadAsync(context.RequestAborted);
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
            {
                // The store failed or timed out: SessionStoreTimeoutException, the driver's exception (NpgsqlException,
                // RedisConnectionException, …) or the session middleware's own IOTimeout (OperationCanceledException).
                app.Logger.LogWarning(e, "Session store unavailable");
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "5";
                return;
            }

            await next(context);
        });
        #endregion
    }
}
