using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Internal;

/// <summary>
/// The lifetime a <c>Set</c> asks for, resolved the way Microsoft's <c>RedisCache</c> resolves it: a relative
/// absolute expiration wins over a fixed one, a fixed one in the past is an error, and a sliding window is
/// capped by the absolute expiration.
/// </summary>
internal readonly record struct EntryExpiration(DateTimeOffset? Absolute, TimeSpan? RelativeToNow, TimeSpan? Sliding)
{
    public static EntryExpiration From(DistributedCacheEntryOptions options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.AbsoluteExpiration is { } absolute && absolute <= now)
        {
            throw new ArgumentOutOfRangeException(
                nameof(DistributedCacheEntryOptions.AbsoluteExpiration),
                absolute,
                "The absolute expiration value must be in the future.");
        }

        return options.AbsoluteExpirationRelativeToNow is { } relative
            ? new EntryExpiration(null, relative, options.SlidingExpiration)
            : new EntryExpiration(options.AbsoluteExpiration, null, options.SlidingExpiration);
    }

    /// <summary>How long the entry lives from <paramref name="now"/>; null when it never expires.</summary>
    public TimeSpan? TimeToLive(DateTimeOffset now)
    {
        var untilAbsolute = RelativeToNow ?? Absolute - now;
        return (untilAbsolute, Sliding) switch
        {
            ({ } a, { } s) => a < s ? a : s,
            ({ } a, null) => a,
            (null, { } s) => s,
            _ => null,
        };
    }
}
