using System.Diagnostics;
using SessionStore.Tests.DualWrite;

namespace SessionStore.Tests.Faults;

/// <summary>
/// Requests to one session take turns in a dual phase (SessionLocks), and a turn waits for the write ahead of it,
/// which waits on a hung secondary for up to SecondaryTimeout. With SecondaryTimeout longer than the primary's
/// OperationTimeout (a plausible setting: 2 s, the default, beside 1 s), a turn bounded by OperationTimeout alone
/// failed 19 of 16,250 requests to a healthy primary, blaming it. Each request must succeed, within about SecondaryTimeout.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungSecondaryTurnTests(FaultServers servers, ITestOutputHelper output)
{
    private const int Callers = 16;
    private static readonly TimeSpan SecondaryTimeout = TimeSpan.FromSeconds(2);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_requests_to_one_session_succeed_behind_a_hung_secondary_slower_than_the_primary_s_timeout()
    {
        await using var harness = new DualWriteHarness("dual-pg-primary", servers.PostgresConnectionString, servers.RedisConfiguration, settings =>
        {
            settings["SessionStore:SecondaryTimeout"] = SecondaryTimeout.ToString();
            // The primary's bound below SecondaryTimeout; the secondary's own above it, so that its hung call lasts SecondaryTimeout.
            settings["SessionStore:Postgres:OperationTimeout"] = "00:00:01";
            settings["SessionStore:Redis:OperationTimeout"] = "00:00:05";
        });
        var key = Guid.NewGuid().ToString();
        await harness.Cache.SetAsync(key, [0], DualWriteHarness.IdleTimeout, Token);
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var requests = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            await started.Task;
            var watch = Stopwatch.StartNew();
            if (caller % 4 == 3)
            {
                await harness.Cache.RemoveAsync(key, Token);
            }
            else
            {
                await harness.Cache.SetAsync(key, [(byte)caller], DualWriteHarness.IdleTimeout, Token);
            }

            return watch.Elapsed;
        })).ToArray();
        started.SetResult();
        var outcomes = await Task.WhenAll(requests.Select(async r =>
        {
            try
            {
                return (Elapsed: await r, Error: (Exception?)null);
            }
            catch (Exception e)
            {
                return (Elapsed: TimeSpan.Zero, Error: e);
            }
        }));
        await freezer.ThawAsync();

        output.WriteLine($"{Callers} requests to one session, secondary hung: slowest {outcomes.Max(o => o.Elapsed).TotalMilliseconds:0} ms, {outcomes.Count(o => o.Error is not null)} failed.");
        Assert.All(outcomes, o => Assert.Null(o.Error));
        Assert.All(outcomes, o => Assert.InRange(o.Elapsed, TimeSpan.Zero, SecondaryTimeout + TimeSpan.FromSeconds(1)));
        Assert.Equal(0, harness.Cache.SessionsInTurn);
    }
}
