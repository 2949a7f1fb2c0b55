using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.Conformance;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

public sealed class PostgresSessionCacheConformanceTests(PostgresServer server) : SessionStoreCacheConformanceTests, IDisposable
{
    private readonly PostgresSessionCache _cache = new(new PostgresSessionCacheOptions
    {
        ConnectionString = server.ConnectionString,
        TableName = "conformance",
        CreateTableIfMissing = true,
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}
