using Microsoft.Extensions.Caching.Distributed;
using SessionStore.DualWrite;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// "Log out everywhere" through the dual-write cache in every phase: the count is of sessions that were still alive,
/// a malformed user id is refused before any store is touched, and unusual user ids work as any other.
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

    [Theory]
    [InlineData(nameof(SessionStorePhase.RedisOnly))]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    [InlineData(nameof(SessionStorePhase.PostgresOnly))]
    public async Task Unusual_user_ids_are_revoked_alone_and_follow_a_session_that_changed_user(string phase)
    {
        // Non-ASCII, Redis glob and hash-tag characters, spaces, and ids that look like the index's own key.
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var tag = Guid.NewGuid().ToString("N")[..6];
        string[] users = [$"é{tag}ü😀", $"a:{tag}:b", $"*{tag}*", $"{{{tag}}}", $" {tag} ", $"user:{tag}", $"sessionstore:user:{tag}"];
        foreach (var user in users)
        {
            var neverExpires = Guid.NewGuid().ToString();
            var sliding = Guid.NewGuid().ToString();
            var changedAway = Guid.NewGuid().ToString();
            var changedTo = Guid.NewGuid().ToString();
            var other = "other" + user;
            await harness.Cache.SetAsync(neverExpires, MigrationScenario.Session(1, user), new DistributedCacheEntryOptions(), Token);
            await harness.Cache.SetAsync(sliding, MigrationScenario.Session(2, user), DualWriteHarness.IdleTimeout, Token);
            await harness.Cache.SetAsync(changedAway, MigrationScenario.Session(3, user), DualWriteHarness.IdleTimeout, Token);
            await harness.Cache.SetAsync(changedAway, MigrationScenario.Session(4, other), DualWriteHarness.IdleTimeout, Token);
            await harness.Cache.SetAsync(changedTo, MigrationScenario.Session(5, other), DualWriteHarness.IdleTimeout, Token);
            await harness.Cache.SetAsync(changedTo, MigrationScenario.Session(6, user), DualWriteHarness.IdleTimeout, Token);

            var revoked = await harness.Cache.RevokeUserSessionsAsync(user, Token);

            Assert.True(revoked == 3, $"{phase}, user '{user}': revoked {revoked}");
            foreach (var key in new[] { neverExpires, sliding, changedTo })
            {
                Assert.Null(await harness.Cache.GetAsync(key, Token));
                Assert.Null(await harness.Postgres.GetAsync(key, Token));
                Assert.Null(await harness.Redis.GetAsync(key, Token));
            }

            Assert.NotNull(await harness.Cache.GetAsync(changedAway, Token));
            Assert.Equal(1, await harness.Cache.RevokeUserSessionsAsync(other, Token));
            Assert.Null(await harness.Cache.GetAsync(changedAway, Token));
        }
    }
}
