using System.Diagnostics;
using SessionStore.Tests.DualWrite;

namespace SessionStore.Tests.Faults;

/// <summary>
/// A sign-out in a single-store phase also removes the copy in the store the phase does not use (the dual phase next
/// to it would read it back). That store is not the request's: while it hangs, the removal waits at most
/// SecondaryTimeout, and the copy goes once the store answers again.
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
}
