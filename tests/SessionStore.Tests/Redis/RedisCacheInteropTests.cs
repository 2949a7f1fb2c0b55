using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Tests.Redis;

/// <summary>
/// Entries written by Microsoft's RedisCache are read by ours and the other way round, with the same hash
/// fields, encodings and TTLs: an application can switch providers without logging anybody out.
/// </summary>
public sealed class RedisCacheInteropTests(RedisServer server) : RedisCacheInteropConformance(server);

/// <summary>The interop cases, run against each RESP server (Redis here, Garnet in <c>GarnetTests</c>).</summary>
public abstract class RedisCacheInteropConformance(IRedisTestServer server) : IDisposable
{
    private const string InstanceName = "interop:";
    private static readonly DateTimeOffset FixedAbsolute = DateTimeOffset.UtcNow.AddHours(2);

    // RedisCache disposes even a connection it was handed, so it gets one of its own.
    private readonly MicrosoftRedisCache _theirs = new(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions
    {
        Configuration = server.Configuration,
        InstanceName = InstanceName,
    }));

    private readonly RedisSessionCache _ours = new(new RedisSessionCacheOptions
    {
        ConnectionMultiplexerFactory = () => Task.FromResult(server.Connection),
        InstanceName = InstanceName,
    });

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> ExpiryKinds => ["sliding", "absolute", "relative", "sliding and absolute", "none"];

    [Theory]
    [MemberData(nameof(ExpiryKinds))]
    public async Task Entries_written_by_RedisCache_are_read_by_ours_and_the_other_way_round(string kind)
    {
        var value = new byte[] { 0, 1, 2, 255, 254 };
        var theirsKey = Guid.NewGuid().ToString();
        var oursKey = Guid.NewGuid().ToString();

        await _theirs.SetAsync(theirsKey, value, EntryOptions(kind), Token);
        await _ours.SetAsync(oursKey, value, EntryOptions(kind), Token);

        Assert.Equal(value, await _ours.GetAsync(theirsKey, Token));
        Assert.Equal(value, await _theirs.GetAsync(oursKey, Token));
    }

    [Theory]
    [MemberData(nameof(ExpiryKinds))]
    public async Task Hash_fields_encodings_and_ttls_are_the_same(string kind)
    {
        var value = "session bytes"u8.ToArray();
        var theirsKey = Guid.NewGuid().ToString();
        var oursKey = Guid.NewGuid().ToString();
        var span = System.Diagnostics.Stopwatch.StartNew();
        await _theirs.SetAsync(theirsKey, value, EntryOptions(kind), Token);
        await _ours.SetAsync(oursKey, value, EntryOptions(kind), Token);

        var database = server.Connection.GetDatabase();
        var theirs = (await database.HashGetAllAsync(InstanceName + theirsKey)).ToDictionary(e => (string)e.Name!, e => e.Value);
        var ours = (await database.HashGetAllAsync(InstanceName + oursKey)).ToDictionary(e => (string)e.Name!, e => e.Value);

        Assert.Equal(["absexp", "data", "sldexp"], theirs.Keys.Order());
        // Ours adds the version stamp, a field RedisCache never reads (it asks for its three by name).
        Assert.Equal(theirs.Keys.Append("ver").Order(), ours.Keys.Order());
        Assert.Equal((byte[])theirs["data"]!, (byte[])ours["data"]!);
        Assert.Equal((string)theirs["sldexp"]!, (string)ours["sldexp"]!);
        var absoluteDifference = TimeSpan.FromTicks(Math.Abs((long)theirs["absexp"] - (long)ours["absexp"]));
        Assert.True(kind == "relative" ? absoluteDifference < TimeSpan.FromSeconds(1) + span.Elapsed : absoluteDifference == TimeSpan.Zero, $"absexp differs by {absoluteDifference}");

        var theirsTtl = await database.KeyTimeToLiveAsync(InstanceName + theirsKey);
        var oursTtl = await database.KeyTimeToLiveAsync(InstanceName + oursKey);
        span.Stop();
        Assert.Equal(theirsTtl is null, oursTtl is null);
        if (theirsTtl is { } t && oursTtl is { } o)
        {
            // RedisCache sets whole seconds; the writes and the two TTL reads happen at different moments, and a
            // loaded machine can stretch those gaps, so the allowance is one second plus the time the steps took.
            Assert.InRange((o - t).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(1) + span.Elapsed);
        }
    }

    [Fact]
    public async Task Our_sliding_touch_of_their_entry_sets_the_ttl_RedisCache_would_set()
    {
        var key = Guid.NewGuid().ToString();
        await _theirs.SetAsync(key, [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(10) }, Token);
        var database = server.Connection.GetDatabase();
        await database.KeyExpireAsync(InstanceName + key, TimeSpan.FromMinutes(5));

        var span = System.Diagnostics.Stopwatch.StartNew();
        await _ours.GetAsync(key, Token);

        var ttl = await database.KeyTimeToLiveAsync(InstanceName + key);
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1) - span.Elapsed, TimeSpan.FromMinutes(10));
    }

    public void Dispose()
    {
        _theirs.Dispose();
        _ours.Dispose();
        GC.SuppressFinalize(this);
    }

    private static DistributedCacheEntryOptions EntryOptions(string kind) => kind switch
    {
        "sliding" => new() { SlidingExpiration = TimeSpan.FromMinutes(20) },
        "absolute" => new() { AbsoluteExpiration = FixedAbsolute },
        "relative" => new() { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(30) },
        "sliding and absolute" => new() { SlidingExpiration = TimeSpan.FromMinutes(20), AbsoluteExpiration = FixedAbsolute },
        _ => new(),
    };
}
