namespace SessionStore.Tests.TestServers;

/// <summary>
/// The tests that share one <see cref="RedisClusterServer"/>: a collection rather than an assembly fixture, so
/// the six nodes start only when one of these tests runs.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterServer>
{
    public const string Name = "Redis Cluster";
}
