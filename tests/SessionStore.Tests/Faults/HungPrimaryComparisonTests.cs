using SessionStore.Tests.DualWrite;

namespace SessionStore.Tests.Faults;

/// <summary>
/// A sampled comparison reads the secondary, then the primary, off the request path. When the primary hangs in
/// between, the comparison cannot end, and that is not the secondary's failure: before, it was counted among the
/// secondary failures (the migration's go/no-go signal) and logged as one (3001, "the request went on without it").
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungPrimaryComparisonTests(FaultServers servers)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_comparison_that_cannot_read_the_hung_primary_is_logged_at_debug_level_not_counted_as_a_secondary_failure()
    {
        await using var harness = new DualWriteHarness("dual-pg-primary", servers.PostgresConnectionString, servers.RedisConfiguration, settings =>
        {
            settings["SessionStore:ComparisonSampleRate"] = "1";
            settings["SessionStore:SecondaryTimeout"] = "00:00:00.300";
        });
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [1], DualWriteHarness.IdleTimeout, Token);
        await using var freezer = await servers.PostgresFreezerAsync();

        Assert.Equal([1], await harness.Cache.GetAsync(key, Token)); // sampled: its comparison starts 250 ms later
        await freezer.FreezeAsync();
        await DualWriteHarness.EventuallyAsync(() => Task.FromResult(harness.Cache.GetStatistics().PendingComparisons == 0), "the comparison ended");
        await freezer.ThawAsync();

        // The primary's timeout does not hold the key back from the healthy secondary: the next write reaches both.
        await harness.Cache.SetAsync(key, [2], DualWriteHarness.IdleTimeout, Token);
        Assert.Equal([2], await harness.Redis.GetAsync(key, Token));

        Assert.Equal(0, harness.Cache.GetStatistics().SecondaryFailures);
        var logs = harness.Logs.GetSnapshot();
        Assert.DoesNotContain(logs, r => r.Id.Id == SessionStoreEventIds.DualWriteSecondaryFailed);
        var failure = Assert.Single(logs, r => r.Id.Id == SessionStoreEventIds.DualWriteSourceReadFailed);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Debug, failure.Level);
        Assert.Contains("Store postgresql failed to get key hash", failure.Message, StringComparison.Ordinal);
    }
}
