using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.Conformance;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

public sealed class PostgresCacheConformanceTests(PostgresServer server) : SessionStoreCacheConformanceTests, IDisposable
{
    private readonly PostgresCache _cache = new(new PostgresCacheOptions
    {
        ConnectionString = server.ConnectionString,
        TableName = "conformance",
        CreateTableIfMissing = true,
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}
