namespace SessionStore.Redis.Internal;

/// <summary>
/// Reads an entry and, when due, extends its sliding expiry, in one round trip. It is sent by its SHA1 (EVALSHA),
/// so each call carries a few bytes instead of the script; a server that answers NOSCRIPT (after a restart,
/// a failover or SCRIPT FLUSH) is sent the text once with EVAL, which also caches it again.
/// </summary>
/// <remarks>
/// KEYS[1] the entry; ARGV[1] now as UTC ticks (the client clock, as <c>RedisCache</c> uses); ARGV[2] the touch
/// threshold; ARGV[3] "1" to return the data; ARGV[4] "1" to return it also when the entry was touched (the cache
/// then extends the user's index, which must outlive the session). Returns nil for a missing entry, else
/// {absexp, sldexp, ttl in ms after any touch, version ("0" when the entry has none), data or nil, 1 when touched}.
/// Only KEYS[1] is touched, so it is safe on Redis Cluster.
/// Ticks exceed a Lua double's exact range by a few bits; the error is microseconds, far below the
/// millisecond TTLs computed from them.
/// </remarks>
internal static class GetAndTouchScript
{
    public static readonly byte[] Sha1 = System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(Lua));

    public const string Lua = """
        local fields
        if ARGV[3] == '1' then
            fields = redis.call('HMGET', KEYS[1], 'absexp', 'sldexp', 'ver', 'data')
        else
            fields = redis.call('HMGET', KEYS[1], 'absexp', 'sldexp', 'ver')
        end
        if not fields[1] and not fields[2] then
            return false
        end
        local ttl = redis.call('PTTL', KEYS[1])
        local touched = 0
        local sliding = tonumber(fields[2])
        if sliding and sliding > 0 and ttl >= 0 then
            local slidingMs = sliding / 10000
            local target = slidingMs
            local absolute = tonumber(fields[1])
            if absolute and absolute ~= -1 then
                local capMs = (absolute - tonumber(ARGV[1])) / 10000
                if capMs < target then
                    target = capMs
                end
            end
            if target - ttl > slidingMs * tonumber(ARGV[2]) then
                target = math.floor(target)
                redis.call('PEXPIRE', KEYS[1], target)
                ttl = target
                touched = 1
            end
        end
        local data = fields[4]
        if touched == 1 and ARGV[4] == '1' and ARGV[3] ~= '1' then
            data = redis.call('HGET', KEYS[1], 'data')
        end
        return { fields[1], fields[2], ttl, fields[3] or '0', data or false, touched }
        """;
}
