using SessionStore.Internal;
using SessionStore.Redis;

namespace SessionStore.Migration.Internal;

/// <summary>
/// Redis as the store copies go to: written through <see cref="RedisSessionCache"/>'s own conditional writes (the
/// <c>RedisCache</c> format, the TTL, the per-user index), read and taken back through <see cref="RedisSource"/>.
/// </summary>
internal sealed class RedisTarget(RedisSessionCache cache, RedisSource entries) : ICopyTarget
{
    public string Description => entries.Description;

    public int MaximumKeyLength => int.MaxValue;

    public Task EnsureReadyAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => entries.ReadAsync(keys, cancellationToken);

    /// <summary>Pipelined: StackExchange.Redis sends the writes of the batch together, each in its own one-key transaction.</summary>
    public async Task<List<LandedCopy>> WriteAsync(IReadOnlyList<SessionCopy> copies)
    {
        var store = (ISessionCacheProvider)cache;
        var writes = copies.Select(async copy =>
        {
            try
            {
                return await store.SetAsync(copy.Key, copy.Entry.Value, copy.Entry.Expiry.ToEntryOptions()!, copy.Condition, async: true, CancellationToken.None).ConfigureAwait(false) is not null;
            }
            catch (ArgumentException)
            {
                copy.Failed = true; // a value over the store's MaximumValueSize
                return false;
            }
        }).ToArray();
        var landed = await Task.WhenAll(writes).ConfigureAwait(false);
        return copies.Where((_, i) => landed[i]).Select(copy => new LandedCopy(copy, copy.Entry.Value)).ToList();
    }

    /// <summary>Deletes each copy only while the entry still holds the value copied: a write the application made since is kept.</summary>
    public Task TakeBackAsync(IReadOnlyList<LandedCopy> copies) =>
        entries.DeleteIfUnchangedAsync(copies.Select(c => (c.Copy.Key, (byte[])c.Write)).ToList());

    /// <summary>
    /// Cuts each landed copy to the time its source had left when read, unless a later write replaced it: written
    /// with a fresh sliding window, a copy of a session idle for most of its window outlived it. A touch extends the
    /// copy a whole window again, as it does the source.
    /// </summary>
    public Task KeepTimeLeftAsync(IReadOnlyList<LandedCopy> copies) =>
        entries.ExpireIfUnchangedAsync(copies
            .Where(c => c.Copy.Entry.Expiry.Remaining is not null)
            .Select(c => (c.Copy.Key, (byte[])c.Write, c.Copy.Entry.Expiry.Remaining!.Value))
            .ToList());
}
