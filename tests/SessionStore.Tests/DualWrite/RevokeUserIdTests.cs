using Microsoft.Extensions.Caching.Distributed;
using SessionStore.DualWrite;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// "Log out everywhere" through the dual-write cache in every phase: the count is of sessions that were still alive,
/// and a malformed user id is refused before any store is touched.
/// </summary>
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

    [Theory]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task A_user_id_with_an_unpaired_surrogate_is_refused_before_it_can_unindex_another_users_sessions(string phase)
    {
        // Redis encodes the lone surrogate as U+FFFD: the revoke read the victim's index, saw the victim's sessions as
        // another user's and dropped them from it; PostgreSQL then threw EncoderFallbackException.
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var victim = $"v{Guid.NewGuid():N}\uFFFD";
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, MigrationScenario.Session(1, victim), DualWriteHarness.IdleTimeout, Token);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => harness.Cache.RevokeUserSessionsAsync(victim[..^1] + "\uDC00", Token));

        Assert.Contains("unpaired surrogate", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(victim[..^1], refused.Message, StringComparison.Ordinal);
        var index = harness.Configuration["SessionStore:Redis:InstanceName"] + "sessionstore:user:" + victim;
        Assert.True(await redis.Connection.GetDatabase().SetContainsAsync(index, key));
        Assert.Equal(1, await harness.Cache.RevokeUserSessionsAsync(victim, Token));
        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        Assert.Null(await harness.Redis.GetAsync(key, Token));
    }
}
