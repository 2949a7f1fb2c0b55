using StackExchange.Redis;

namespace SessionStore.Redis.Internal;

/// <summary>
/// The per-user set of session keys that "log out everywhere" reads: <c>InstanceName + "sessionstore:user:" + id</c>,
/// expiring with the longest-lived of its sessions. Kept by the cache on every write, and built by the migration
/// tools for sessions that Microsoft's <c>RedisCache</c> wrote without one.
/// </summary>
internal static class RedisUserIndex
{
    public const string Infix = "sessionstore:user:";

    // A session that never expires keeps the set for this long rather than for ever (PERSIST): a set without a TTL
    // could not be told from a new one, so the next session's EXPIRE NX gave it that session's shorter TTL, and the
    // set expired while the first session lived on, out of reach of "log out everywhere".
    private static readonly TimeSpan NoExpiry = TimeSpan.FromDays(365 * 100);

    public static RedisKey Key(RedisKey prefix, string userId) => prefix.Append(Infix + userId);

    /// <summary>Queues, on <paramref name="batch"/>, the commands that add <paramref name="member"/> and keep the set alive as long as it.</summary>
    public static void QueueAdd(IBatch batch, RedisKey indexKey, string member, TimeSpan? memberTimeToLive) =>
        _ = AddAsync(batch, indexKey, member, memberTimeToLive);

    /// <summary>
    /// Sends the commands that add <paramref name="member"/> and keep the set alive as long as it, pipelined but not
    /// in a transaction, so each follows its own redirect when the set's slot moves. Every one is idempotent, so a
    /// partial failure is repaired by running them again, and the set's TTL only ever grows (<c>NX</c>, then <c>GT</c>).
    /// Called on every write of a session of the user, and on every touch: a session kept alive by reads alone
    /// outlived a set whose TTL only writes extended.
    /// </summary>
    public static Task AddAsync(IDatabaseAsync commands, RedisKey indexKey, string member, TimeSpan? memberTimeToLive)
    {
        var ttl = memberTimeToLive ?? NoExpiry;
        return Task.WhenAll(
            commands.SetAddAsync(indexKey, member),
            commands.KeyExpireAsync(indexKey, ttl, ExpireWhen.HasNoExpiry),
            commands.KeyExpireAsync(indexKey, ttl, ExpireWhen.GreaterThanCurrentExpiry));
    }
}
