namespace SessionStore.Redis.Internal;

/// <summary>
/// Writes an entry, if its condition holds, with its version stamp, in one round trip on one key (so it is routed
/// and retried like a plain command on Redis Cluster, unlike MULTI). Sent by SHA1 like <see cref="GetAndTouchScript"/>.
/// </summary>
/// <remarks>
/// KEYS[1] the entry; ARGV[1] the condition: <c>a</c> always, <c>n</c> no entry, <c>u</c> unchanged data,
/// <c>o</c> an older version; ARGV[2] absexp; ARGV[3] sldexp; ARGV[4] data; ARGV[5] the TTL in ms, or -1 for
/// none; ARGV[6] the data the entry must hold (<c>u</c>) or the version to write (<c>o</c>). Returns nil when
/// the condition refused the write, else the version written. An ordinary write takes
/// max(stored + 1, the server's clock in µs from TIME); a copy takes stored + 1. Versions stay below 2^53, exact
/// in a Lua double. TIME before a write needs effects replication, the default since Redis 5.
/// </remarks>
internal static class SetScript
{
    public static readonly byte[] Sha1 = System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(Lua));

    public const string Lua = """
        local exists = redis.call('EXISTS', KEYS[1]) == 1
        local stored = 0
        if exists then
            stored = tonumber(redis.call('HGET', KEYS[1], 'ver')) or 0
        end
        local mode = ARGV[1]
        local version
        if mode == 'a' then
            local now = redis.call('TIME')
            version = math.max(stored + 1, tonumber(now[1]) * 1000000 + tonumber(now[2]))
        elseif mode == 'n' then
            if exists then
                return false
            end
            version = 1
        elseif mode == 'u' then
            if redis.call('HGET', KEYS[1], 'data') ~= ARGV[6] then
                return false
            end
            version = stored + 1
        else
            version = tonumber(ARGV[6])
            if exists and stored >= version then
                return false
            end
        end
        local text = string.format('%.0f', version)
        redis.call('HSET', KEYS[1], 'absexp', ARGV[2], 'sldexp', ARGV[3], 'data', ARGV[4], 'ver', text)
        if ARGV[5] ~= '-1' then
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
        else
            redis.call('PERSIST', KEYS[1])
        end
        return text
        """;
}
