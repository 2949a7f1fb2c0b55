using StackExchange.Redis;

namespace SessionStore.Redis.Internal;

/// <summary>
/// The StackExchange.Redis settings of a connection the cache builds itself, chosen so that a hung or absent
/// server costs a request at most the operation timeout, and usually nothing. A setting the configuration
/// names explicitly is kept; a borrowed multiplexer is never changed. See docs/redis.md.
/// </summary>
internal static class RedisConnectionSettings
{
    public const int MaximumConnectTimeoutMilliseconds = 1000;

    /// <summary>
    /// The settings of a migration tool's connection (a copy, a verification, statistics): bounded by the operation
    /// timeout as the cache's, but a tool must reach the server or fail. Its one connect attempt gets the whole
    /// operation timeout, not the cache's 1 s (nothing reconnects behind a tool that gave up); it fails when the
    /// server cannot be reached, whatever <c>abortConnect</c> the application's configuration says (a server never
    /// reached would read as one holding no sessions); and a copy waits in the backlog through a brief disconnect.
    /// </summary>
    public static ConfigurationOptions ForTool(ConfigurationOptions given, TimeSpan operationTimeout)
    {
        var named = NamedKeys(given);
        var options = Bounded(given, named, operationTimeout);
        if (!named.Contains("connectTimeout"))
        {
            options.ConnectTimeout = Milliseconds(operationTimeout);
        }

        options.AbortOnConnectFail = true;
        options.BacklogPolicy = given.BacklogPolicy;
        return options;
    }

    public static ConfigurationOptions Bounded(ConfigurationOptions given, TimeSpan operationTimeout) =>
        Bounded(given, NamedKeys(given), operationTimeout);

    private static ConfigurationOptions Bounded(ConfigurationOptions given, HashSet<string> named, TimeSpan operationTimeout)
    {
        var options = given.Clone();
        var milliseconds = Milliseconds(operationTimeout);

        // The multiplexer's bound for synchronous commands (the cache sends none: its synchronous methods wait on the
        // asynchronous path), and what drops an asynchronous command the cache stopped waiting for.
        SetUnlessNamed("syncTimeout", () => options.SyncTimeout = milliseconds);
        SetUnlessNamed("asyncTimeout", () => options.AsyncTimeout = milliseconds);

        // A refused or hung first connect can hold the first requests for the whole connect timeout (measured:
        // 5 s on a refused port, sometimes); a session store is near its clients, so 1 s is plenty, and the
        // multiplexer keeps reconnecting in the background after a failure anyway.
        SetUnlessNamed("connectTimeout", () => options.ConnectTimeout = Math.Min(milliseconds, MaximumConnectTimeoutMilliseconds));

        // A first connection that fails still yields a multiplexer that reconnects in the background, instead of
        // an exception after every retry on every request; one attempt, since those reconnects follow anyway.
        SetUnlessNamed("abortConnect", () => options.AbortOnConnectFail = false);
        SetUnlessNamed("connectRetry", () => options.ConnectRetry = 1);

        // While disconnected, a command fails at once instead of waiting in the backlog for a reconnect that may
        // take as long as the outage: a session request gets its answer (an error, or the dual-write cache's
        // failover) in microseconds, not after the timeout.
        if (ReferenceEquals(given.BacklogPolicy, BacklogPolicy.Default))
        {
            options.BacklogPolicy = BacklogPolicy.FailFast;
        }

        // Session ids are credentials: StackExchange.Redis's messages would otherwise name the command's key (a
        // session's, or the user index's, which holds the user id), and they reach logs and the CLI's output.
        options.IncludeDetailInExceptions = false;
        return options;

        void SetUnlessNamed(string key, Action set)
        {
            if (!named.Contains(key))
            {
                set();
            }
        }
    }

    /// <summary>
    /// The settings the configuration names itself, which are then kept: the keys of its text's <c>key=value</c>
    /// parts, compared whole (<c>asyncTimeout</c> does not name <c>syncTimeout</c>).
    /// </summary>
    private static HashSet<string> NamedKeys(ConfigurationOptions given) =>
        given.ToString(includePassword: false)
            .Split(',', StringSplitOptions.TrimEntries)
            .Where(part => part.Contains('='))
            .Select(part => part[..part.IndexOf('=')])
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    private static int Milliseconds(TimeSpan timeout) => (int)Math.Ceiling(timeout.TotalMilliseconds);
}
