using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Hybrid;

/// <summary>
/// <c>AddHybridCache()</c> over each of our caches uses them as its second level through the
/// <see cref="IBufferDistributedCache"/> overloads (no byte[] copies), against the real servers.
/// </summary>
public sealed class HybridCacheTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(typeof(PostgresSessionCache))]
    [InlineData(typeof(RedisSessionCache))]
    [InlineData(typeof(DualWriteCache))]
    public async Task HybridCache_writes_and_reads_the_second_level_through_the_buffer_overloads(Type cacheType)
    {
        var table = PostgresServer.UniqueTableName("hybrid");
        await new PostgresSchemaMigrator(postgres.DataSource, new PostgresSessionCacheOptions { TableName = table }).MigrateAsync(Token);
        var inner = new ServiceCollection().AddLogging();
        var prefix = $"hybrid-{Guid.NewGuid():N}:";
        _ = cacheType.Name switch
        {
            nameof(PostgresSessionCache) => inner.AddPostgresSessionCache(o => (o.ConnectionString, o.TableName) = (postgres.ConnectionString, table)),
            nameof(RedisSessionCache) => inner.AddRedisSessionCache(o => (o.Configuration, o.InstanceName) = (redis.Configuration, prefix)),
            _ => inner.AddDualWriteSessionStore(o =>
            {
                o.Phase = SessionStorePhase.DualWriteRedisPrimary;
                (o.Postgres.ConnectionString, o.Postgres.TableName) = (postgres.ConnectionString, table);
                (o.Redis.Configuration, o.Redis.InstanceName) = (redis.Configuration, prefix);
            }),
        };
        await using var stores = inner.BuildServiceProvider();
        var real = stores.GetRequiredService<IDistributedCache>();
        Assert.IsType(cacheType, real);
        var spy = new CountingBufferCache(Assert.IsAssignableFrom<IBufferDistributedCache>(real));
        var key = $"order-{Guid.NewGuid():N}";
        var created = 0;

        // Two applications: the second has an empty first level, so it must read what the first wrote to the second level.
        var first = await HybridAsync(spy, key, () => Interlocked.Increment(ref created));
        // HybridCache may write its second level in the background once the value is returned.
        for (var waited = 0; spy.BufferWrites == 0 && waited < 100; waited++)
        {
            await Task.Delay(50, Token);
        }

        var second = await HybridAsync(spy, key, () => Interlocked.Increment(ref created));

        Assert.Equal("value 1", first);
        Assert.True(second == "value 1", $"second {second}; buffer reads {spy.BufferReads}, writes {spy.BufferWrites}; array reads {spy.ArrayReads}, writes {spy.ArrayWrites}");
        Assert.Equal(1, created);
        Assert.True(spy.BufferWrites >= 1, $"buffer writes {spy.BufferWrites}");
        Assert.True(spy.BufferReads >= 2, $"buffer reads {spy.BufferReads}");
        Assert.Equal(0, spy.ArrayReads);
        Assert.Equal(0, spy.ArrayWrites);
    }

    private static async Task<string> HybridAsync(CountingBufferCache secondLevel, string key, Func<int> create)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton<IDistributedCache>(secondLevel);
        services.AddHybridCache();
        await using var provider = services.BuildServiceProvider();
        var hybrid = provider.GetRequiredService<HybridCache>();
        return await hybrid.GetOrCreateAsync(key, _ => ValueTask.FromResult($"value {create()}"), new HybridCacheEntryOptions { Expiration = TimeSpan.FromMinutes(5) }, cancellationToken: Token);
    }
}
