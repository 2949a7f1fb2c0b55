using SessionStore.Tests.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A session naming a user id longer than PostgreSQL's index on <c>user_id</c> can hold: its write was refused by the
/// server, and in a dual phase each refusal counted against PostgreSQL's circuit breaker, which opened for every user.
/// It is refused before any store is touched, naming the limit, in every phase.
/// </summary>
public sealed class LongUserIdTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static byte[] Session(string userId) => new TestSessionPayload(new byte[16], [new("UserId", System.Text.Encoding.UTF8.GetBytes(userId))]).ToBytes();

    [Theory]
    [InlineData("redis-only")]
    [InlineData("dual-redis-primary")]
    [InlineData("dual-pg-primary")]
    [InlineData("pg-only")]
    public async Task A_user_id_too_long_to_index_is_refused_naming_the_limit_and_other_users_are_untouched(string phase)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var tooLong = new string('u', 3_000);
        for (var i = 0; i < 10; i++)
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(() => harness.Cache.SetAsync(Guid.NewGuid().ToString(), Session(tooLong), DualWriteHarness.IdleTimeout, Token));
            Assert.Contains("user id of 3000 UTF-8 bytes", error.Message, StringComparison.Ordinal);
            Assert.Contains("at most 1024", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("uuuu", error.Message, StringComparison.Ordinal);
        }

        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, Session(new string('é', 512)), DualWriteHarness.IdleTimeout, Token); // 1,024 bytes: the limit
        Assert.All(harness.Cache.GetStatistics().Breakers.Values, state => Assert.Equal(SessionStore.DualWrite.DualWriteBreakerState.Closed, state));
        Assert.NotNull(await harness.Cache.GetAsync(key, Token));
        Assert.Equal(1, await harness.Cache.RevokeUserSessionsAsync(new string('é', 512), Token));
    }
}
