using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DependencyInjection;

/// <summary>What the registration tests check of the cache they got, and the table they give it.</summary>
internal static class RegisteredCache
{
    /// <summary>Stores, reads back and removes a session: the registered cache reaches its store.</summary>
    public static async Task AssertRoundTripAsync(IDistributedCache cache)
    {
        var token = TestContext.Current.CancellationToken;
        var key = Guid.NewGuid().ToString();
        await cache.SetAsync(key, Encoding.UTF8.GetBytes("hello"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(5) }, token);
        Assert.Equal("hello", Encoding.UTF8.GetString((await cache.GetAsync(key, token))!));
        await cache.RemoveAsync(key, token);
    }

    /// <summary>A session table of the test's own.</summary>
    public static async Task<string> CreateTableAsync(PostgresServer postgres, string prefix)
    {
        var table = PostgresServer.UniqueTableName(prefix);
        await new PostgresSchemaMigrator(postgres.DataSource, new PostgresSessionCacheOptions { TableName = table }).MigrateAsync(TestContext.Current.CancellationToken);
        return table;
    }
}
