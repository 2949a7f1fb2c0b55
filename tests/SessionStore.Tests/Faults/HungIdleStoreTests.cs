using System.Diagnostics;
using SessionStore.Tests.DualWrite;
using SessionStore.Tests.Internal;

namespace SessionStore.Tests.Faults;

/// <summary>
/// A sign-out (or "log out everywhere") in a single-store phase also removes the copy in the store the phase does not
/// use (the dual phase next to it would read it back). That store is not the request's: while it hangs, the removal
/// waits at most SecondaryTimeout, and the copy goes once the store answers again.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungIdleStoreTests(FaultServers servers)
{
    private static readonly TimeSpan SecondaryTimeout = TimeSpan.FromMilliseconds(300);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_remove_in_RedisOnly_waits_at_most_SecondaryTimeout_on_a_hung_PostgreSQL_whose_copy_goes_once_it_answers()
    {
        await using var harness = new DualWriteHarness("dual-redis-primary", servers.PostgresConnectionString, servers.RedisConfiguration, settings =>
            settings["SessionStore:SecondaryTimeout"] = SecondaryTimeout.ToString());
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        harness.Phase = "redis-only";

        TimeSpan elapsed;
        await using (var freezer = await servers.PostgresFreezerAsync())
        {
            await freezer.FreezeAsync();
            var watch = Stopwatch.StartNew();
            await harness.Cache.RemoveAsync(key, Token);
            elapsed = watch.Elapsed;
            await freezer.ThawAsync();
        }

        Assert.InRange(elapsed, TimeSpan.Zero, SecondaryTimeout + HungServerTiming.Slack);
        Assert.Null(await harness.Redis.GetAsync(key, Token));
        await DualWriteHarness.EventuallyAsync(async () => await harness.Postgres.GetAsync(key, Token) is null, "the catch-up removed the PostgreSQL copy");
    }

    [Fact]
    public async Task A_log_out_everywhere_in_PostgresOnly_that_a_hung_Redis_missed_is_made_there_once_it_answers()
    {
        await using var harness = new DualWriteHarness("dual-pg-primary", servers.PostgresConnectionString, servers.RedisConfiguration, settings =>
            settings["SessionStore:SecondaryTimeout"] = SecondaryTimeout.ToString());
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, new TestSessionPayload(new byte[16], [new("UserId", "ada"u8.ToArray())]).ToBytes(), DualWriteHarness.IdleTimeout, Token);
        harness.Phase = "pg-only";

        await using (var freezer = await servers.RedisFreezerAsync())
        {
            // Sign-outs of other sessions time out on Redis and open its breaker, so the revocation is not even sent
            // (a command sent to a hung server is made when it resumes, which would hide what this test is about).
            await freezer.FreezeAsync();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => harness.Cache.RemoveAsync(Guid.NewGuid().ToString(), Token)));
            Assert.Equal(1, await harness.Cache.RevokeUserSessionsAsync("ada", Token));
            await freezer.ThawAsync();
        }

        // A step back would read-repair the Redis copy and sign the user in again: it goes once Redis answers.
        Assert.Null(await harness.Postgres.GetAsync(key, Token));
        await DualWriteHarness.EventuallyAsync(async () => await harness.Redis.GetAsync(key, Token) is null, "the catch-up revoked the Redis copy");
    }
}
