using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Tests.Hybrid;

/// <summary>Forwards to a real cache and counts which overloads a caller uses: the buffer ones or the byte[] ones.</summary>
internal sealed class CountingBufferCache(IBufferDistributedCache inner) : IBufferDistributedCache
{
    private int _bufferReads;
    private int _bufferWrites;
    private int _arrayReads;
    private int _arrayWrites;

    public int BufferReads => _bufferReads;

    public int BufferWrites => _bufferWrites;

    public int ArrayReads => _arrayReads;

    public int ArrayWrites => _arrayWrites;

    public bool TryGet(string key, IBufferWriter<byte> destination)
    {
        Interlocked.Increment(ref _bufferReads);
        return inner.TryGet(key, destination);
    }

    public ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
    {
        Interlocked.Increment(ref _bufferReads);
        return inner.TryGetAsync(key, destination, token);
    }

    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options)
    {
        Interlocked.Increment(ref _bufferWrites);
        inner.Set(key, value, options);
    }

    /// <summary>Counted once the write has landed, so a test can wait for a write its caller does not await.</summary>
    public async ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        await inner.SetAsync(key, value, options, token);
        Interlocked.Increment(ref _bufferWrites);
    }

    public byte[]? Get(string key)
    {
        Interlocked.Increment(ref _arrayReads);
        return inner.Get(key);
    }

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        Interlocked.Increment(ref _arrayReads);
        return inner.GetAsync(key, token);
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
    {
        Interlocked.Increment(ref _arrayWrites);
        inner.Set(key, value, options);
    }

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        Interlocked.Increment(ref _arrayWrites);
        return inner.SetAsync(key, value, options, token);
    }

    public void Refresh(string key) => inner.Refresh(key);

    public Task RefreshAsync(string key, CancellationToken token = default) => inner.RefreshAsync(key, token);

    public void Remove(string key) => inner.Remove(key);

    public Task RemoveAsync(string key, CancellationToken token = default) => inner.RemoveAsync(key, token);
}
