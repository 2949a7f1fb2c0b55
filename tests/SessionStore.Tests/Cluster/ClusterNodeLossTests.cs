using System.Diagnostics;
using SessionStore.Tests.Chaos;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cluster;

/// <summary>
/// A master killed with SIGKILL under traffic: its replica takes over after the node timeout. Measures the outage
/// window and what failed in it; the bounds are generous, the figures go to chaos-report.txt.
/// </summary>
[Collection(nameof(ClusterTopologyCollection))]
public sealed class ClusterNodeLossTests(ClusterTopologyServers servers, PostgresServer postgres)
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1);

    /// <summary>After the cluster is healthy: a topology refresh (throttled to one a second) plus the breaker's break (2 s), with room.</summary>
    private static readonly TimeSpan Settling = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData("RedisOnly")]
    [InlineData("DualWritePostgresPrimary")]
    public async Task A_killed_master_fails_requests_only_until_its_replica_takes_over_and_never_past_the_timeout(string phase)
    {
        var cluster = await servers.HealthyClusterAsync();
        var token = TestContext.Current.CancellationToken;
        await using var app = await ClusterSessionApp.StartAsync(cluster.Configuration, postgres, phase);
        await app.CreateSessionsAsync(ClusterTopologyTests.Browsers, ClusterTopologyTests.SessionsPerBrowser);
        using var stop = new CancellationTokenSource();
        var running = app.RunTrafficAsync(ClusterTopologyTests.Browsers, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1), token);

        var (victim, _) = await servers.ReshardPairAsync();
        var killed = Stopwatch.GetTimestamp();
        await cluster.KillMasterAsync(victim);
        await cluster.WaitUntilHealthyAsync(cancellationToken: token);
        var recovered = Stopwatch.GetTimestamp();
        // The client learns the new master within a second or two; the breaker's next probe then closes it.
        await Task.Delay(Settling + TimeSpan.FromSeconds(2), token);
        await stop.CancelAsync();
        var traffic = await running;
        var lost = await app.CountLostSessionsAsync();
        await victim.RestartAsync(token);
        await cluster.WaitUntilHealthyAsync(cancellationToken: token);

        var visits = traffic.Visits;
        var failed = visits.Where(v => !v.Ok).ToList();
        var outage = failed.Count == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(killed, failed.Max(v => v.Started + (long)(v.Latency.TotalSeconds * Stopwatch.Frequency)));
        var afterRecovery = traffic.Between(recovered + (long)(Settling.TotalSeconds * Stopwatch.Frequency), long.MaxValue).ToList();
        var report = $"Cluster {phase}, a master killed (node timeout {cluster.NodeTimeout.TotalSeconds:0} s): replica serving after {Stopwatch.GetElapsedTime(killed, recovered).TotalSeconds:0.0} s; " +
            $"{visits.Count} requests, {failed.Count} failed, last failure ended {outage.TotalSeconds:0.0} s after the kill, slowest failure {(failed.Count == 0 ? 0 : failed.Max(v => v.Latency).TotalMilliseconds):0} ms, " +
            $"max latency {visits.Max(v => v.Latency).TotalMilliseconds:0} ms; {lost} of {app.Sessions.Count} sessions lost (writes acknowledged but not yet replicated); {app.Cache.Summary(4)}" +
            (app.DualWrite?.GetStatistics() is { } s ? $"; secondary failures {s.SecondaryFailures}, breaker of redis {s.Breakers.GetValueOrDefault("redis")}" : "");
        ChaosReport.Write(report);

        Assert.True(visits.Count > ClusterTopologyTests.Browsers * 10, report);
        Assert.NotEmpty(afterRecovery);
        Assert.All(afterRecovery, v => Assert.True(v.Ok, report));
        if (phase == "RedisOnly")
        {
            // Errors, but each store call within the operation timeout (a request makes two: load and commit), and only
            // until the replica serves.
            Assert.All(failed, v => Assert.True(v.Latency <= (2 * ClusterSessionApp.OperationTimeout) + Margin, $"A failed request took {v.Latency.TotalMilliseconds:0} ms. {report}"));
            Assert.True(outage <= cluster.NodeTimeout + ClusterSessionApp.OperationTimeout + TimeSpan.FromSeconds(10), report);
        }
        else
        {
            // Redis is the secondary: the requests neither fail nor wait past the secondary timeout; the breaker opens.
            Assert.Empty(failed);
            Assert.All(visits, v => Assert.True(v.Latency <= ClusterSessionApp.SecondaryTimeout + Margin, $"A request took {v.Latency.TotalMilliseconds:0} ms. {report}"));
            Assert.Equal(0, lost);
        }

        Assert.True(lost <= app.Sessions.Count / 100, report);
    }
}
