using System.Text;
using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Tests.Conformance;

/// <summary>
/// The behaviour every <see cref="IDistributedCache"/> in this project shares with Microsoft's reference
/// implementations, written once and run against each provider by a subclass.
/// </summary>
public abstract class DistributedCacheConformanceTests
{
    protected abstract IDistributedCache Cache { get; }

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    protected static string NewKey() => Guid.NewGuid().ToString();

    [Fact]
    public async Task A_missing_key_reads_as_null()
    {
        Assert.Null(await Cache.GetAsync(NewKey(), Token));
        Assert.Null(Cache.Get(NewKey()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2_000)]
    [InlineData(300_000)]
    public async Task A_value_reads_back_byte_for_byte(int length)
    {
        var key = NewKey();
        var value = new byte[length];
        Random.Shared.NextBytes(value);

        await Cache.SetAsync(key, value, Sliding(TimeSpan.FromMinutes(5)), Token);

        Assert.Equal(value, await Cache.GetAsync(key, Token));
        Assert.Equal(value, Cache.Get(key));
    }

    [Fact]
    public void The_synchronous_api_sets_refreshes_and_removes()
    {
        var key = NewKey();
        Cache.Set(key, [1, 2, 3], Sliding(TimeSpan.FromMinutes(5)));
        Cache.Refresh(key);
        Assert.Equal([1, 2, 3], Cache.Get(key));

        Cache.Remove(key);
        Assert.Null(Cache.Get(key));
    }

    [Fact]
    public async Task A_set_replaces_the_previous_value()
    {
        var key = NewKey();
        await Cache.SetAsync(key, [1], new DistributedCacheEntryOptions(), Token);
        await Cache.SetAsync(key, [2, 2], new DistributedCacheEntryOptions(), Token);
        Assert.Equal([2, 2], await Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_set_replaces_the_previous_expiry_including_with_none()
    {
        var expiring = NewKey();
        var lasting = NewKey();
        await Cache.SetAsync(expiring, [1], new DistributedCacheEntryOptions(), Token);
        await Cache.SetAsync(expiring, [2], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(1) }, Token);
        await Cache.SetAsync(lasting, [1], Sliding(TimeSpan.FromSeconds(1)), Token);
        await Cache.SetAsync(lasting, [2], new DistributedCacheEntryOptions(), Token);

        await Task.Delay(TimeSpan.FromSeconds(1.5), Token);

        Assert.Null(await Cache.GetAsync(expiring, Token));
        Assert.Equal([2], await Cache.GetAsync(lasting, Token));
    }

    [Fact]
    public async Task A_removed_key_is_gone_and_removing_a_missing_key_is_harmless()
    {
        var key = NewKey();
        await Cache.SetAsync(key, [1], new DistributedCacheEntryOptions(), Token);
        await Cache.RemoveAsync(key, Token);
        await Cache.RemoveAsync(key, Token);
        await Cache.RefreshAsync(key, Token);
        Assert.Null(await Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task Keys_are_compared_exactly()
    {
        var key = "Key-ÄÖÜ-" + NewKey();
        await Cache.SetAsync(key, [1], new DistributedCacheEntryOptions(), Token);
        Assert.Null(await Cache.GetAsync(key.ToUpperInvariant(), Token));
        Assert.Null(await Cache.GetAsync(key + " ", Token));
        Assert.Equal([1], await Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task An_absolute_expiration_relative_to_now_ends_the_entry()
    {
        var key = NewKey();
        await Cache.SetAsync(key, [1], new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(1) }, Token);
        Assert.NotNull(await Cache.GetAsync(key, Token));
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token);
        Assert.Null(await Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_fixed_absolute_expiration_ends_the_entry()
    {
        var key = NewKey();
        await Cache.SetAsync(key, [1], new DistributedCacheEntryOptions { AbsoluteExpiration = DateTimeOffset.UtcNow.AddSeconds(1) }, Token);
        Assert.NotNull(await Cache.GetAsync(key, Token));
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token);
        Assert.Null(await Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task Reads_and_refreshes_keep_a_sliding_entry_alive_and_idleness_ends_it()
    {
        var key = NewKey();
        await Cache.SetAsync(key, [1], Sliding(TimeSpan.FromSeconds(2)), Token);
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), Token);
            if (i % 2 == 0)
            {
                await Cache.RefreshAsync(key, Token);
            }
            else
            {
                Assert.NotNull(await Cache.GetAsync(key, Token));
            }
        }

        Assert.NotNull(await Cache.GetAsync(key, Token));
        await Task.Delay(TimeSpan.FromSeconds(2.5), Token);
        Assert.Null(await Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_sliding_entry_does_not_outlive_its_absolute_expiration()
    {
        var key = NewKey();
        var options = new DistributedCacheEntryOptions
        {
            SlidingExpiration = TimeSpan.FromSeconds(2),
            AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(3),
        };
        await Cache.SetAsync(key, [1], options, Token);
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(0.9), Token);
            await Cache.RefreshAsync(key, Token);
        }

        await Task.Delay(TimeSpan.FromSeconds(0.6), Token);
        Assert.Null(await Cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task Many_callers_at_once_each_read_their_own_value()
    {
        var keys = Enumerable.Range(0, 64).Select(_ => NewKey()).ToArray();
        await Parallel.ForEachAsync(keys, Token, async (key, token) =>
        {
            await Cache.SetAsync(key, Encoding.UTF8.GetBytes(key), Sliding(TimeSpan.FromMinutes(1)), token);
            Assert.Equal(key, Encoding.UTF8.GetString((await Cache.GetAsync(key, token))!));
        });
    }

    [Fact]
    public async Task Null_arguments_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(() => Cache.GetAsync(null!, Token));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Cache.SetAsync(null!, [1], new DistributedCacheEntryOptions(), Token));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Cache.SetAsync(NewKey(), null!, new DistributedCacheEntryOptions(), Token));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Cache.RefreshAsync(null!, Token));
        await Assert.ThrowsAsync<ArgumentNullException>(() => Cache.RemoveAsync(null!, Token));
    }

    protected static DistributedCacheEntryOptions Sliding(TimeSpan window) => new() { SlidingExpiration = window };
}
