using SessionStore.DualWrite;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// A remove racing another request of the same session (a sign-out while another tab loads a page) in a dual phase:
/// once both have returned, the stores agree, and a removed session stays removed. Before sessions took turns
/// (SessionLocks), a read that missed in the primary between the remove's two stores copied the secondary's copy
/// back (250 of 300 sessions signed in again, DualWriteRedisPrimary), and a set racing the remove left its copy in
/// one store only, which the next read then repaired back.
/// </summary>
public sealed class ConcurrentRemoveTests(PostgresServer postgres, RedisServer redis)
{
    private const int Sessions = 100;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task A_session_removed_while_it_is_read_stays_removed_in_both_stores(string phase)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var revived = 0;
        for (var i = 0; i < Sessions; i++)
        {
            var key = Guid.NewGuid().ToString();
            await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

            await Together(
                () => harness.Cache.RemoveAsync(key, Token),
                async () =>
                {
                    for (var read = 0; read < 5; read++)
                    {
                        await harness.Cache.GetAsync(key, Token);
                    }
                });

            if (await harness.Postgres.GetAsync(key, Token) is not null || await harness.Redis.GetAsync(key, Token) is not null || await harness.Cache.GetAsync(key, Token) is not null)
            {
                revived++;
            }
        }

        Assert.Equal(0, revived);
        Assert.Equal(0, harness.Cache.GetStatistics().ReadRepairs);
        Assert.Equal(0, harness.Cache.SessionsInTurn);
    }

    [Theory]
    [InlineData(nameof(SessionStorePhase.DualWriteRedisPrimary))]
    [InlineData(nameof(SessionStorePhase.DualWritePostgresPrimary))]
    public async Task A_set_racing_a_remove_leaves_both_stores_alike(string phase)
    {
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration);
        var (removed, written, differing) = (0, 0, 0);
        for (var i = 0; i < Sessions; i++)
        {
            var key = Guid.NewGuid().ToString();
            await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

            await Together(
                () => harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token),
                () => harness.Cache.RemoveAsync(key, Token));

            var inPostgres = await harness.Postgres.GetAsync(key, Token);
            var inRedis = await harness.Redis.GetAsync(key, Token);
            switch ((inPostgres, inRedis))
            {
                case (null, null):
                    removed++;
                    break;
                case ([2], [2]):
                    written++;
                    break;
                default:
                    differing++;
                    break;
            }

            // Whichever came last, the cache answers as the stores hold: a removed session is not read back.
            Assert.Equal(inPostgres, await harness.Cache.GetAsync(key, Token));
        }

        Assert.Equal(0, differing);
        Assert.Equal(Sessions, removed + written);
        Assert.Equal(0, harness.Cache.SessionsInTurn);
    }

    /// <summary>Starts both calls at once, on the thread pool, and waits for both.</summary>
    private static async Task Together(Func<Task> first, Func<Task> second)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = new[] { first, second }.Select(call => Task.Run(async () =>
        {
            await start.Task;
            await call();
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(calls);
    }
}
