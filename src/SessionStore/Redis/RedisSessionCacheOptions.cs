using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace SessionStore.Redis;

/// <summary>Options for <see cref="RedisSessionCache"/>.</summary>
public sealed class RedisSessionCacheOptions : SessionCacheOptions, IOptions<RedisSessionCacheOptions>
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
    /// A prefix put in front of every key, exactly as Microsoft's <c>RedisCacheOptions.InstanceName</c> does
    /// (no separator is added): set the same value to share entries with an application on <c>RedisCache</c>.
    /// </summary>
    /// <value>Default null (no prefix).</value>
    public string? InstanceName { get; set; }

    RedisSessionCacheOptions IOptions<RedisSessionCacheOptions>.Value => this;

    /// <inheritdoc />
    public override IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        ValidateShared(failures);
        if (ConnectionMultiplexerFactory is null && ConfigurationOptions is null && string.IsNullOrWhiteSpace(Configuration))
        {
            failures.Add($"None of {nameof(Configuration)}, {nameof(ConfigurationOptions)} or {nameof(ConnectionMultiplexerFactory)} is set; one of them is required.");
        }

        return failures;
    }
}
