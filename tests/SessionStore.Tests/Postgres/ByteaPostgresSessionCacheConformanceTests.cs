using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.Conformance;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>The PostgreSQL provider with the payload stored as raw bytes.</summary>
public sealed class ByteaPostgresSessionCacheConformanceTests(PostgresServer server) : SessionStoreCacheConformanceTests, IDisposable
{
    private readonly PostgresSessionCache _cache = new(new PostgresSessionCacheOptions
    {
        ConnectionString = server.ConnectionString,
        TableName = "conformance_bytea",
        CreateTableIfMissing = true,
        PayloadFormat = PostgresPayloadFormat.Bytea,
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}
