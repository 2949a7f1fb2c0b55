using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Internal;

/// <summary>What the dual-write cache needs of a provider beyond <see cref="IDistributedCache"/>: an entry's lifetime, to copy it.</summary>
internal interface ISessionCacheProvider : IBufferDistributedCache, IUserSessionRevoker
{
    /// <summary>The store's name in logs and metric tags, as OpenTelemetry's <c>db.system.name</c> spells it.</summary>
    string Name { get; }

    /// <summary>How long the store lets one operation take (<see cref="SessionCacheProviderOptions.OperationTimeout"/>).</summary>
    TimeSpan OperationTimeout { get; }

    /// <summary>Reads an entry like <see cref="IDistributedCache.Get"/>, with what the read learned of its lifetime.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="async">False completes synchronously: PostgreSQL runs its synchronous I/O, Redis waits on its asynchronous path.</param>
    /// <param name="token">Cancels the read.</param>
    ValueTask<StoredEntry?> GetEntryAsync(string key, bool async, CancellationToken token);

    /// <summary>Writes an entry like <see cref="IBufferDistributedCache.SetAsync"/>, if <paramref name="condition"/> holds.</summary>
    /// <returns>The version the store now holds for the entry (see <see cref="WriteCondition"/>); null when the condition refused the write.</returns>
    ValueTask<long?> SetAsync(string key, ReadOnlyMemory<byte> value, DistributedCacheEntryOptions options, WriteCondition condition, bool async, CancellationToken token);

    /// <summary>
    /// Extends a sliding expiry to its full window (under its absolute cap) now, whenever that lengthens it: a
    /// <c>Refresh</c> without the store's touch threshold. The dual-write cache sends it to the secondary after the
    /// primary touched, so the secondary's copy never expires before the primary's.
    /// </summary>
    ValueTask TouchAsync(string key, CancellationToken token);

    /// <summary>The signed-in user a session payload names (<see cref="SessionCacheProviderOptions.UserIdSessionKey"/>); null when it names none.</summary>
    string? UserIdOf(ReadOnlySpan<byte> value);

    /// <summary>One cheap round trip to the server, for health checks; throws when it cannot be reached.</summary>
    Task PingAsync(CancellationToken token);
}

/// <summary>A stored value, its lifetime as measured by the read that returned it, and its version (0 when none was recorded).</summary>
internal sealed record StoredEntry(byte[] Value, ExpiryState Expiry, long Version = 0)
{
    /// <summary>
    /// Set only by the migration tools' PostgreSQL reads, and only with a <see cref="SessionCacheProviderOptions.UserIdSessionKey"/>:
    /// the row's <c>user_id</c> is not the user the value names under that key (none where it names one, or another),
    /// so "log out everywhere" would not find the session by its user.
    /// </summary>
    public bool UserIdDiffers { get; init; }
}
