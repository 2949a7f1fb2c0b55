using SessionStore.Tests.DualWrite;

namespace SessionStore.Tests.Faults;

/// <summary>
/// A write that timed out on a hung primary is held by the server and applied when it resumes, after the runbook's
/// step away from it and a write the caller was told succeeded in the other store. Its version, taken as it landed,
/// made it the newest: the catch-up copied it over the acknowledged write in both stores, and the session went back
/// to the value of a write its caller was told failed.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class LateWriteAfterStepTests(FaultServers servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("dual-pg-primary", "dual-redis-primary", "postgresql")]
    [InlineData("dual-redis-primary", "dual-pg-primary", "redis")]
    [InlineData("pg-only", "dual-pg-primary,dual-redis-primary", "postgresql")] // the rollback, in its two steps
    public async Task A_write_that_timed_out_on_the_hung_store_does_not_undo_the_acknowledged_write_made_after_the_step(string from, string to, string hung)
    {
        await using var harness = new DualWriteHarness(from, servers.PostgresConnectionString, servers.RedisConfiguration, s =>
        {
            s["SessionStore:SecondaryTimeout"] = "00:00:00.300";
            s["SessionStore:Postgres:OperationTimeout"] = "00:00:01";
            s["SessionStore:Redis:OperationTimeout"] = "00:00:01";
        });
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        if (from == "pg-only")
        {
            await harness.Redis.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token); // as the migration left it
        }

        await using (var freezer = hung == "postgresql" ? await servers.PostgresFreezerAsync() : await servers.RedisFreezerAsync())
        {
            await freezer.FreezeAsync();
            await Assert.ThrowsAsync<SessionStoreTimeoutException>(() => harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token));
            foreach (var step in to.Split(','))
            {
                harness.Phase = step;
                _ = harness.Cache.Phase; // in force before the next step: a step that skips one is refused
            }

            await harness.Cache.SetAsync(key, [3], DualWriteHarness.IdleTimeout, Token);
            await freezer.ThawAsync();
        }

        // The late write lands as the server resumes; the catch-up runs once its breaker closes.
        var hungStore = hung == "postgresql" ? "postgresql" : "redis";
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().CatchUpBacklog[hungStore] == 0), "the catch-up ended");
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token); // a key handed to the other store's backlog is copied after a second

        Assert.Equal([3], await harness.Redis.GetAsync(key, Token));
        Assert.Equal([3], await harness.Postgres.GetAsync(key, Token));
        Assert.Equal([3], await harness.Cache.GetAsync(key, Token));
    }
}
