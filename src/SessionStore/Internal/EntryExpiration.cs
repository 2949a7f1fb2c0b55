using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Internal;

/// <summary>
/// The lifetime a <c>Set</c> asks for, as durations from the moment of the <c>Set</c>: the time until the absolute
/// cap and the sliding window. Both stores count these durations on their own clock, so a skew between the
/// application's clock and a store's never shortens or lengthens an entry (docs/security.md, "Clock rule").
/// </summary>
/// <remarks>
/// Resolved the way Microsoft's <c>RedisCache</c> resolves options — a relative absolute expiration wins over a
/// fixed one, a fixed one in the past is an error, a sliding window is capped by the absolute expiration — with
/// two rules of its own, the same for every store: a duration of <see cref="MaximumLifetime"/> or more means
/// "never" (so <see cref="DateTimeOffset.MaxValue"/> and <see cref="TimeSpan.MaxValue"/> are the idioms they look
/// like), and every duration is rounded up to a whole millisecond, Redis's TTL unit (PostgreSQL's would be a
/// microsecond, which turned a shorter sliding window into an entry expired on arrival).
/// </remarks>
/// <param name="RelativeToNow">Time until the absolute cap; null for none.</param>
/// <param name="Sliding">The sliding window; null for none.</param>
/// <param name="AbsoluteInstant">The absolute expiration as the application gave it, for Redis's <c>absexp</c>; null when it was relative or none.</param>
internal readonly record struct EntryExpiration(TimeSpan? RelativeToNow, TimeSpan? Sliding, DateTimeOffset? AbsoluteInstant = null)
{
    /// <summary>A lifetime this long or longer is "never": far beyond any session, well inside every store's range.</summary>
    public static readonly TimeSpan MaximumLifetime = TimeSpan.FromDays(36_500);

    /// <summary>The unit every duration is rounded up to.</summary>
    public static readonly TimeSpan Resolution = TimeSpan.FromMilliseconds(1);

    /// <summary>Resolves <paramref name="options"/> at <paramref name="now"/>, the application's clock.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The absolute expiration is not in the future.</exception>
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

        // DistributedCacheEntryOptions itself refuses a relative or sliding value that is zero or negative.
        var untilCap = options.AbsoluteExpirationRelativeToNow ?? options.AbsoluteExpiration - now;
        var instant = options.AbsoluteExpirationRelativeToNow is null ? options.AbsoluteExpiration : null;
        return Normalize(untilCap) is { } cap
            ? new EntryExpiration(cap, Normalize(options.SlidingExpiration), instant)
            : new EntryExpiration(null, Normalize(options.SlidingExpiration));
    }

    /// <summary>
    /// The absolute expiration on the application's clock, as Microsoft's <c>RedisCache</c> writes it in
    /// <c>absexp</c>: the instant given, or <paramref name="now"/> plus the relative one; null when there is none.
    /// </summary>
    public DateTimeOffset? AbsoluteAt(DateTimeOffset now) => RelativeToNow is { } relative ? AbsoluteInstant ?? now + relative : null;

    /// <summary>How long the entry lives from the <c>Set</c>; null when it never expires.</summary>
    public TimeSpan? TimeToLive => (RelativeToNow, Sliding) switch
    {
        ({ } a, { } s) => a < s ? a : s,
        ({ } a, null) => a,
        (null, { } s) => s,
        _ => null,
    };

    private static TimeSpan? Normalize(TimeSpan? duration) => duration switch
    {
        null => null,
        { } d when d >= MaximumLifetime => null,
        { } d => TimeSpan.FromTicks((d.Ticks + Resolution.Ticks - 1) / Resolution.Ticks * Resolution.Ticks),
    };
}
