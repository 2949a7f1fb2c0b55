using SessionStore.Tests.DualWrite;

namespace SessionStore.Tests.Faults;

/// <summary>
/// Once a session's call to a hung primary timed out, its next calls to that store fail at once for a few timeouts
/// (a request waits one timeout, not two). That memory is the hung store's alone, and ends when the store answers:
/// before, the healthy store refused those sessions after the documented step back, and the recovered store kept
/// refusing them for four timeouts, each with a message claiming a timeout that never happened.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungPrimaryRecentTimeoutTests(FaultServers servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_a_step_back_the_healthy_store_serves_a_session_that_timed_out_on_the_hung_one()
    {
        await using var harness = Harness();
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        await using (var freezer = await servers.PostgresFreezerAsync())
        {
            await freezer.FreezeAsync();
            await Assert.ThrowsAsync<SessionStoreTimeoutException>(() => harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token));
            var skipped = await Assert.ThrowsAsync<SessionStoreTimeoutException>(() => harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token));
            Assert.Contains("was not sent set", skipped.Message, StringComparison.Ordinal);

            // The runbook's step back while PostgreSQL hangs: Redis answers as the primary, for this session too.
            harness.Phase = "dual-redis-primary";
            await harness.Cache.SetAsync(key, [3], DualWriteHarness.IdleTimeout, Token);
            Assert.Equal([3], await harness.Redis.GetAsync(key, Token));
            await freezer.ThawAsync();
        }
    }

    [Fact]
    public async Task Once_the_store_answers_again_a_session_that_timed_out_on_it_is_sent_at_once()
    {
        await using var harness = Harness();
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        await using (var freezer = await servers.PostgresFreezerAsync())
        {
            await freezer.FreezeAsync();
            await Assert.ThrowsAsync<SessionStoreTimeoutException>(() => harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token));
            await freezer.ThawAsync();
        }

        // Another session's call succeeds: PostgreSQL answers again, well within four timeouts of the one above.
        await harness.Cache.SetAsync(Guid.NewGuid().ToString(), [9], DualWriteHarness.IdleTimeout, Token);
        await harness.Cache.SetAsync(key, [4], DualWriteHarness.IdleTimeout, Token);
        Assert.Equal([4], await harness.Postgres.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_store_that_answered_the_catch_up_serves_a_session_that_timed_out_on_it_after_the_step_back()
    {
        await using var harness = Harness();
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);

        await using (var freezer = await servers.PostgresFreezerAsync())
        {
            await freezer.FreezeAsync();
            await Assert.ThrowsAsync<SessionStoreTimeoutException>(() => harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token));
            harness.Phase = "dual-redis-primary";
            await harness.Cache.SetAsync(key, [3], DualWriteHarness.IdleTimeout, Token); // PostgreSQL, the secondary now, misses it
            await freezer.ThawAsync();
        }

        // PostgreSQL answers the catch-up's calls, well within four timeouts of the one above; then the step back.
        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is [3], "the catch-up copied the session");
        harness.Phase = "dual-pg-primary";
        Assert.Equal([3], await harness.Cache.GetAsync(key, Token));
    }

    private DualWriteHarness Harness() =>
        new("dual-pg-primary", servers.PostgresConnectionString, servers.RedisConfiguration, settings =>
        {
            settings["SessionStore:Postgres:OperationTimeout"] = "00:00:02";
            settings["SessionStore:SecondaryTimeout"] = "00:00:00.300";
        });
}
