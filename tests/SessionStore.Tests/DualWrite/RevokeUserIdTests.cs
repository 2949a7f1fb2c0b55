using Microsoft.Extensions.Caching.Distributed;
using SessionStore.DualWrite;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>"Log out everywhere" through the dual-write cache in every phase: the count is of sessions that were still alive.</summary>
public sealed class RevokeUserIdTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static DistributedCacheEntryOptions Sliding(TimeSpan window) => new() { SlidingExpiration = window };

    [Theory]
    [InlineData(nameof(SessionStorePhase.PostgresOnly))]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    [InlineData(nameof(SessionStorePhase.RedisOnly))]
    public async Task The_revoke_count_leaves_out_sessions_that_had_already_expired(string phase)
    {
        // PostgreSQL keeps an expired row until the cleanup: it was counted (3, not 1), and the dual-write cache
        // reports the larger of the two stores' counts.
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var user = $"u-{Guid.NewGuid():N}";
        await harness.Cache.SetAsync(Guid.NewGuid().ToString(), MigrationScenario.Session(1, user), Sliding(TimeSpan.FromMinutes(20)), Token);
        await harness.Cache.SetAsync(Guid.NewGuid().ToString(), MigrationScenario.Session(2, user), Sliding(TimeSpan.FromSeconds(1)), Token);
        await harness.Cache.SetAsync(Guid.NewGuid().ToString(), MigrationScenario.Session(3, user), Sliding(TimeSpan.FromSeconds(1)), Token);
        await Task.Delay(2500, Token);

        Assert.Equal(1, await harness.Cache.RevokeUserSessionsAsync(user, Token));
    }
}
