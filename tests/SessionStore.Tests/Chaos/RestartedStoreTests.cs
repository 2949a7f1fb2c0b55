using SessionStore.DualWrite;

namespace SessionStore.Tests.Chaos;

/// <summary>The secondary killed (refusing connections at once) and restarted empty, under concurrent session traffic.</summary>
[Collection(nameof(ChaosCollection))]
public sealed class RestartedStoreTests(ChaosServers servers)
{
    [Fact]
    public async Task Redis_killed_and_restarted_empty_as_secondary_gets_back_every_session_written_meanwhile()
    {
        await using var app = await ChaosApp.StartAsync(servers, "DualWritePostgresPrimary");
        using var stop = new CancellationTokenSource();
        var running = app.RunTrafficAsync(8, stop.Token, newVisitors: false);
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);

        await servers.Redis.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        var missedWhileDown = app.Cache.GetStatistics().CatchUpBacklog["redis"];
        await servers.Redis.RestartAsync(TestContext.Current.CancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        var traffic = await running;

        var drained = await ChaosApp.WaitUntilAsync(() => app.Cache.GetStatistics() is var s && s.Breakers["redis"] == DualWriteBreakerState.Closed && s.CatchUpBacklog["redis"] == 0, TimeSpan.FromSeconds(20), "the catch-up backlog is empty");
        var (sessions, differences) = await app.CompareAllAsync();
        var report = $"Redis killed 3 s and restarted empty in DualWritePostgresPrimary: {traffic.Visits.Count} requests, {traffic.Visits.Count(v => !v.Ok)} failed, {traffic.Visits.Count(v => v.Lost)} lost, " +
            $"max {traffic.Visits.Max(v => v.Latency).TotalMilliseconds:0} ms; backlog {missedWhileDown} keys while down, drained {drained.TotalMilliseconds:0} ms after traffic stopped; " +
            $"{sessions} sessions, {differences} differ.";
        ChaosReport.Write(report);

        Assert.Equal(0, traffic.Visits.Count(v => !v.Ok));
        Assert.Equal(0, traffic.Visits.Count(v => v.Lost));
        Assert.True(missedWhileDown > 0, report);

        // Every browser wrote its session after the restart too, so every session is in Redis again.
        Assert.Equal(0, differences);
    }
}
