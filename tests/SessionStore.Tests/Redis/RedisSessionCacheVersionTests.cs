using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using SessionStore.Internal;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Tests.Redis;

/// <summary>The <c>ver</c> field of each hash: what each kind of write stores, when a version-ordered write lands, and entries RedisCache wrote.</summary>
public sealed class RedisSessionCacheVersionTests(RedisServer server)
{
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };
    private readonly string _prefix = $"ver-{Guid.NewGuid():N}:";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private RedisSessionCache NewCache() => new(new RedisSessionCacheOptions { Configuration = server.Configuration, InstanceName = _prefix });

    [Fact]
    public async Task An_ordinary_write_stores_at_least_the_server_clock_and_always_more_than_before()
    {
        using var cache = NewCache();
        ISessionCacheProvider store = cache;
        var key = Guid.NewGuid().ToString();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

        var first = await store.SetAsync(key, new byte[] { 1 }, IdleTimeout, WriteCondition.Always, async: true, Token);
        var second = await store.SetAsync(key, new byte[] { 2 }, IdleTimeout, WriteCondition.Always, async: false, Token);

        Assert.NotNull(first);
        Assert.InRange(first.Value, before - 60_000_000, before + 60_000_000);
        Assert.True(second > first, $"versions {first}, {second} do not increase");
        Assert.Equal(second, (await store.GetEntryAsync(key, async: true, Token))!.Version);
        Assert.Equal(second, (long)await server.Connection.GetDatabase().HashGetAsync(_prefix + key, "ver"));
    }

    [Fact]
    public async Task A_version_ordered_write_lands_only_over_an_older_version_or_no_entry()
    {
        using var cache = NewCache();
        ISessionCacheProvider store = cache;
        var key = Guid.NewGuid().ToString();

        Assert.Equal(100, await store.SetAsync(key, new byte[] { 1 }, IdleTimeout, WriteCondition.WhenOlder(100), async: true, Token));
        Assert.Null(await store.SetAsync(key, new byte[] { 2 }, IdleTimeout, WriteCondition.WhenOlder(100), async: true, Token));
        Assert.Null(await store.SetAsync(key, new byte[] { 3 }, IdleTimeout, WriteCondition.WhenOlder(99), async: false, Token));
        Assert.Equal(101, await store.SetAsync(key, new byte[] { 4 }, IdleTimeout, WriteCondition.WhenOlder(101), async: true, Token));
        Assert.Equal([4], await cache.GetAsync(key, Token));
        Assert.Equal(1, await store.SetAsync(Guid.NewGuid().ToString(), new byte[] { 1 }, IdleTimeout, WriteCondition.WhenAbsent, async: true, Token));
    }

    [Fact]
    public async Task Without_scripting_versions_still_order_writes_by_compare_and_set()
    {
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions
        {
            ConfigurationOptions = RedisSessionCacheWithoutScriptingConformanceTests.WithoutScripting(server.Configuration),
            InstanceName = _prefix,
        });
        ISessionCacheProvider store = cache;
        var key = Guid.NewGuid().ToString();

        var ordinary = await store.SetAsync(key, new byte[] { 1 }, IdleTimeout, WriteCondition.Always, async: true, Token);
        Assert.InRange(ordinary!.Value, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds() * 1000, DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds() * 1000);
        Assert.Null(await store.SetAsync(key, new byte[] { 2 }, IdleTimeout, WriteCondition.WhenOlder(ordinary.Value), async: true, Token));
        Assert.Equal(ordinary + 1, await store.SetAsync(key, new byte[] { 3 }, IdleTimeout, WriteCondition.WhenOlder(ordinary.Value + 1), async: false, Token));
        Assert.Equal(ordinary + 1, await store.SetAsync(key, new byte[] { 4 }, IdleTimeout, WriteCondition.WhenUnchanged([3]), async: true, Token));
        var entry = await store.GetEntryAsync(key, async: true, Token);
        Assert.Equal([4], entry!.Value);
        Assert.Equal(ordinary + 1, entry.Version);
    }

    [Fact]
    public async Task An_entry_RedisCache_wrote_reads_as_version_0_and_takes_any_version_ordered_write()
    {
        using var cache = NewCache();
        ISessionCacheProvider store = cache;
        using var theirs = new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions { Configuration = server.Configuration, InstanceName = _prefix }));
        var key = Guid.NewGuid().ToString();
        await theirs.SetAsync(key, [7], IdleTimeout, Token);

        Assert.Equal(0, (await store.GetEntryAsync(key, async: true, Token))!.Version);
        Assert.Equal(5, await store.SetAsync(key, new byte[] { 8 }, IdleTimeout, WriteCondition.WhenOlder(5), async: true, Token));

        // RedisCache overwrites the data and leaves our field stale; both still read its value.
        await theirs.SetAsync(key, [9], IdleTimeout, Token);
        Assert.Equal([9], await cache.GetAsync(key, Token));
        Assert.Equal([9], await theirs.GetAsync(key, Token));
    }
}
