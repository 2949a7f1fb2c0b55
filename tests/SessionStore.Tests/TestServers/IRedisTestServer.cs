using StackExchange.Redis;

namespace SessionStore.Tests.TestServers;

/// <summary>A RESP server the Redis tests can run against: Redis, a Redis Cluster or Garnet.</summary>
public interface IRedisTestServer
{
    /// <summary>A StackExchange.Redis configuration string.</summary>
    string Configuration { get; }

    /// <summary>A connection for test code's own raw commands.</summary>
    IConnectionMultiplexer Connection { get; }
}
