using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Tests.Conformance;

/// <summary>
/// What every SessionStore provider promises beyond the in-memory reference: the buffer API that HybridCache
/// uses, cancellation before any I/O, and Microsoft <c>RedisCache</c>'s refusal of a past absolute expiration.
/// </summary>
public abstract class SessionStoreCacheConformanceTests : DistributedCacheConformanceTests
{
    [Fact]
    public async Task A_cancelled_token_stops_the_call()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Cache.GetAsync(NewKey(), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Cache.SetAsync(NewKey(), [1], new DistributedCacheEntryOptions(), cancelled.Token));
    }

    [Fact]
    public async Task The_buffer_api_reads_into_a_writer_and_writes_from_a_sequence()
    {
        var cache = Assert.IsAssignableFrom<IBufferDistributedCache>(Cache);
        var key = NewKey();
        var first = new byte[] { 1, 2, 3 };
        var second = new byte[] { 4, 5 };
        var sequence = TwoSegments(first, second);

        await cache.SetAsync(key, sequence, Sliding(TimeSpan.FromMinutes(1)), Token);
        var destination = new ArrayBufferWriter<byte>();
        Assert.True(await cache.TryGetAsync(key, destination, Token));
        Assert.Equal([1, 2, 3, 4, 5], destination.WrittenSpan.ToArray());

        cache.Set(key, new ReadOnlySequence<byte>(second), Sliding(TimeSpan.FromMinutes(1)));
        destination.ResetWrittenCount();
        Assert.True(cache.TryGet(key, destination));
        Assert.Equal(second, destination.WrittenSpan.ToArray());

        destination.ResetWrittenCount();
        Assert.False(await cache.TryGetAsync(NewKey(), destination, Token));
        Assert.Equal(0, destination.WrittenCount);
    }

    [Fact]
    public async Task An_absolute_expiration_in_the_past_is_refused()
    {
        var options = new DistributedCacheEntryOptions { AbsoluteExpiration = DateTimeOffset.UtcNow.AddSeconds(-1) };
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Cache.SetAsync(NewKey(), [1], options, Token));
        Assert.Equal(nameof(DistributedCacheEntryOptions.AbsoluteExpiration), error.ParamName);
    }

    private static ReadOnlySequence<byte> TwoSegments(byte[] first, byte[] second)
    {
        var head = new Segment(first);
        var tail = head.Append(second);
        return new ReadOnlySequence<byte>(head, 0, tail, second.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
