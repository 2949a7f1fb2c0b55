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

    public static RedisKey Key(RedisKey prefix, string userId) => prefix.Append(Infix + userId);

    /// <summary>Queues, on <paramref name="batch"/>, the commands that add <paramref name="member"/> and keep the set alive as long as it.</summary>
    public static void QueueAdd(IBatch batch, RedisKey indexKey, string member, TimeSpan? memberTimeToLive)
    {
        _ = batch.SetAddAsync(indexKey, member);
        if (memberTimeToLive is { } ttl)
        {
            _ = batch.KeyExpireAsync(indexKey, ttl, ExpireWhen.HasNoExpiry);
            _ = batch.KeyExpireAsync(indexKey, ttl, ExpireWhen.GreaterThanCurrentExpiry);
        }
        else
        {
            _ = batch.KeyPersistAsync(indexKey);
        }
    }
}
