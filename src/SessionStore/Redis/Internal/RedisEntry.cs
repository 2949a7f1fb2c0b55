using System.Globalization;
using StackExchange.Redis;
using SessionStore.Internal;

namespace SessionStore.Redis.Internal;

/// <summary>
/// The storage format of Microsoft's <c>RedisCache</c>, which this provider keeps byte for byte: a hash with
/// <c>absexp</c> (<c>DateTimeOffset.Ticks</c>, or -1), <c>sldexp</c> (<c>TimeSpan.Ticks</c>, or -1) and
/// <c>data</c>, expiring after min(absolute − now, sliding).
/// </summary>
internal static class RedisEntry
{
    public const string AbsoluteExpirationField = "absexp";
    public const string SlidingExpirationField = "sldexp";
    public const string DataField = "data";
    public const long NotPresent = -1;

    public static readonly RedisValue[] MetadataFields = [AbsoluteExpirationField, SlidingExpirationField];
    public static readonly RedisValue[] AllFields = [AbsoluteExpirationField, SlidingExpirationField, DataField];

    public static HashEntry[] Fields(ReadOnlyMemory<byte> value, DateTimeOffset? absolute, TimeSpan? sliding) =>
    [
        new(AbsoluteExpirationField, absolute?.Ticks ?? NotPresent),
        new(SlidingExpirationField, sliding?.Ticks ?? NotPresent),
        new(DataField, value),
    ];

    /// <summary>The absolute expiration the way <c>RedisCache</c> derives it: a relative one counts from now.</summary>
    public static DateTimeOffset? Absolute(EntryExpiration expiration, DateTimeOffset now) =>
        expiration.AbsoluteAt(now);

    /// <summary>
    /// The TTL to set, rounded up to the millisecond. <c>RedisCache</c> truncates it to whole seconds, which
    /// shortens every entry by up to a second and deletes at once one with less than a second to live.
    /// </summary>
    public static TimeSpan? TimeToLive(EntryExpiration expiration, DateTimeOffset now) =>
        expiration.TimeToLive is { } ttl ? TimeSpan.FromMilliseconds(Math.Ceiling(ttl.TotalMilliseconds)) : null;

    public static long? ReadTicks(RedisValue value) =>
        value.IsNull || !long.TryParse((string?)value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks) || ticks == NotPresent
            ? null
            : ticks;

    /// <summary>
    /// What the read learned about the entry's lifetime, from its fields and its remaining TTL in milliseconds
    /// (negative when it has none), measured at <paramref name="nowTicks"/>.
    /// </summary>
    public static ExpiryState Expiry(long? absoluteTicks, long? slidingTicks, long ttlMilliseconds, long nowTicks) => new(
        Remaining: ttlMilliseconds >= 0 ? TimeSpan.FromMilliseconds(ttlMilliseconds) : null,
        Sliding: slidingTicks is { } sliding ? TimeSpan.FromTicks(sliding) : null,
        AbsoluteRemaining: absoluteTicks is { } absolute ? TimeSpan.FromTicks(absolute - nowTicks) : null);

    /// <summary>
    /// The TTL, in milliseconds, a sliding touch should set now, or null when none is due. The Lua script in
    /// <see cref="GetAndTouchScript"/> makes the same decision on the server.
    /// </summary>
    public static long? DueTouch(ExpiryState state, double touchThreshold) =>
        state.RefreshIsNoOp(TimeSpan.Zero, touchThreshold) ? null : (long)state.ExtendedAt(TimeSpan.Zero)!.Value.TotalMilliseconds;
}
