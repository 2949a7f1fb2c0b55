using Microsoft.Extensions.Options;
using SessionStore.Internal;
using StackExchange.Redis;

namespace SessionStore.Redis;

/// <summary>Options for <see cref="RedisSessionCache"/>.</summary>
public sealed class RedisSessionCacheOptions : SessionCacheProviderOptions, IOptions<RedisSessionCacheOptions>
{
    /// <summary>A StackExchange.Redis configuration string, such as <c>redis.example.com:6379,ssl=true</c>.</summary>
    /// <value>Default null; this, <see cref="ConfigurationOptions"/> or <see cref="ConnectionMultiplexerFactory"/> is required.</value>
    public string? Configuration { get; set; }

    /// <summary>StackExchange.Redis configuration; wins over <see cref="Configuration"/>.</summary>
    /// <value>Default null.</value>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>
    /// Supplies a connection the cache borrows instead of connecting itself; the cache never disposes it.
    /// Wins over <see cref="Configuration"/> and <see cref="ConfigurationOptions"/>.
    /// </summary>
    /// <value>Default null.</value>
    public Func<Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// With the DI registrations, and no connection set otherwise: the key of the container's keyed
    /// <see cref="IConnectionMultiplexer"/> to borrow, e.g. the connection name given to Aspire's
    /// <c>AddKeyedRedisClient("sessions")</c>. Unset, the container's unkeyed multiplexer is borrowed, if any.
    /// </summary>
    /// <value>Default null.</value>
    public string? ConnectionMultiplexerServiceKey { get; set; }

    /// <summary>
    /// A prefix put in front of every key, exactly as Microsoft's <c>RedisCacheOptions.InstanceName</c> does
    /// (no separator is added): set the same value to share entries with an application on <c>RedisCache</c>.
    /// </summary>
    /// <value>Default null (no prefix).</value>
    public string? InstanceName { get; set; }

    /// <summary>
    /// Whether reads and writes run as server-side Lua scripts (one round trip per read, server-clock versions)
    /// or as plain commands and single-key transactions. Unset, the cache uses scripts and, the first time the
    /// server refuses one (<c>unknown command</c>, <c>NOPERM</c>, a command map, or Garnet started without
    /// <c>--lua</c>: <c>ERR This instance has Lua scripting support disabled</c>), switches to plain commands for
    /// its lifetime and logs event 2001 once. False never sends a script. True requires scripts: a refusal fails
    /// the call with <see cref="RedisSessionCacheException"/> instead of switching.
    /// </summary>
    /// <remarks>Start-up only: read when the cache is built; a reloaded value applies after a restart.</remarks>
    /// <value>Default null (detect). False and a command map that removes EVAL/EVALSHA agree; true and such a map do not, and fail validation.</value>
    public bool? UseScripts { get; set; }

    RedisSessionCacheOptions IOptions<RedisSessionCacheOptions>.Value => this;

    /// <summary>Whether a connection is named at all (a configuration, its options or a factory), usable or not.</summary>
    internal bool NamesConnection => ConnectionMultiplexerFactory is not null || ConfigurationOptions is not null || !string.IsNullOrWhiteSpace(Configuration);

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        ValidateShared(failures);
        if (!NamesConnection)
        {
            failures.Add($"None of {nameof(Configuration)}, {nameof(ConfigurationOptions)} or {nameof(ConnectionMultiplexerFactory)} is set; one of them is required.");
        }
        else if (ConnectionMultiplexerFactory is null && ConfigurationOptions is null && ConfigurationProblem(Configuration!) is { } problem)
        {
            failures.Add(problem);
        }
        else if (ConnectionMultiplexerFactory is null && ConfigurationOptions?.DefaultDatabase is int database and < 0)
        {
            failures.Add(NegativeDatabase($"{nameof(ConfigurationOptions)}.DefaultDatabase", database));
        }

        if (UseScripts == true && ConnectionMultiplexerFactory is null && ScriptsRemovedByCommandMap())
        {
            failures.Add($"{nameof(UseScripts)} is true but the command map removes EVAL or EVALSHA; set {nameof(UseScripts)} to false or null, or keep those commands.");
        }

        return failures;
    }

    /// <summary>
    /// Why StackExchange.Redis cannot read <paramref name="configuration"/> (an unknown keyword, a flag that is no
    /// boolean), never showing a part of it that may be a password.
    /// </summary>
    private static string? ConfigurationProblem(string configuration)
    {
        try
        {
            // Without an endpoint it parses, and every call then fails as if the server were down.
            var parsed = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
            return parsed.EndPoints.Count == 0
                ? $"{nameof(Configuration)} names no server: give at least one host:port (\"localhost:6379\"), then its options after commas."
                : parsed.DefaultDatabase is int database and < 0 ? NegativeDatabase($"{nameof(Configuration)}'s defaultDatabase", database)
                : null;
        }
        catch (ArgumentException e) when (e.ParamName is { } keyword)
        {
            // Out of range: a known keyword's value, which the driver's message quotes.
            return ConnectionTextProblem.Describe(nameof(Configuration), configuration, ',', keyword, known: e is ArgumentOutOfRangeException);
        }
        catch (ArgumentException)
        {
            // Its message is not shown: the driver's messages quote what they could not read.
            return $"{nameof(Configuration)} cannot be read: StackExchange.Redis rejects its syntax (\"host:port,keyword=value,…\").";
        }
    }

    /// <summary>
    /// A negative database: StackExchange.Redis takes it, and the first call then fails with an IndexOutOfRangeException
    /// naming nothing.
    /// </summary>
    private static string NegativeDatabase(string setting, int database) =>
        $"{setting} is {database}; it must be 0 or more (a database the server has: 0 to 15 unless its databases setting says otherwise).";

    private bool ScriptsRemovedByCommandMap()
    {
        ConfigurationOptions parsed;
        try
        {
            parsed = ConfigurationOptions ?? StackExchange.Redis.ConfigurationOptions.Parse(Configuration!);
        }
        catch (ArgumentException)
        {
            return false;
        }

        // The configuration string lists a removed command as "$NAME=" with nothing after the '='.
        foreach (var part in parsed.ToString().Split(','))
        {
            if (part.Equals("$EVAL=", StringComparison.OrdinalIgnoreCase) || part.Equals("$EVALSHA=", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
