using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.Conformance;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>The conformance suite on a table partitioned by expiry, with buckets narrow enough that entries move between partitions.</summary>
public sealed class PartitionedPostgresSessionCacheConformanceTests(PostgresServer server) : SessionStoreCacheConformanceTests, IDisposable
{
    private readonly PostgresSessionCache _cache = new(new PostgresSessionCacheOptions
    {
        ConnectionString = server.ConnectionString,
        TableName = "conformance_partitioned",
        CreateTableIfMissing = true,
        Partitioning = new PostgresPartitioningOptions { Interval = TimeSpan.FromSeconds(5), Horizon = TimeSpan.FromMinutes(6) },
        // The suite checks behaviour, not deadlines. Each test's new cache first creates the partitions that came due
        // and plans its first statements over all 72: on a loaded machine such a first call outlasted the default 5 s.
        OperationTimeout = TimeSpan.FromSeconds(30),
    });

    protected override IDistributedCache Cache => _cache;

    public void Dispose() => _cache.Dispose();
}
