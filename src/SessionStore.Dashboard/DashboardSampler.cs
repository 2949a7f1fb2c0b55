using Microsoft.Extensions.Hosting;
using SessionStore.DualWrite;

namespace SessionStore.Dashboard;

/// <summary>
/// Takes one <see cref="DashboardSample"/> a second and keeps the last few minutes, so that a dashboard opened
/// in the middle of a migration shows how it got there; also keeps the fleet table read.
/// </summary>
internal sealed class DashboardSampler(DualWriteCache cache, OperationLatencies latencies, FleetWatch fleet, TimeProvider time) : BackgroundService
{
    /// <summary>Five minutes of seconds: a phase switch and what followed it stay on screen.</summary>
    public const int HistoryLength = 300;

    private readonly Queue<DashboardSample> _history = new(HistoryLength);
    private readonly Lock _lock = new();
    private IReadOnlyList<OperationLatency> _operations = [];

    public DashboardData Snapshot()
    {
        lock (_lock)
        {
            return new DashboardData(time.GetUtcNow(), fleet.InstanceName, OperationLatencies.WindowSeconds, cache.GetStatistics(), _operations, [.. _history], fleet.Current);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(SampleAsync(stoppingToken), fleet.RunAsync(time, stoppingToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping, also when the host is disposed without being stopped first: not a failure to report.
        }
    }

    private async Task SampleAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
        {
            var (operations, stores) = latencies.Advance();
            var statistics = cache.GetStatistics();
            var sample = new DashboardSample(
                time.GetUtcNow(),
                statistics.Phase,
                stores,
                statistics.ReadRepairs,
                statistics.SecondaryFailures,
                statistics.Mismatches.Values.Sum(),
                statistics.CatchUpBacklog);
            lock (_lock)
            {
                if (_history.Count == HistoryLength)
                {
                    _history.Dequeue();
                }

                _history.Enqueue(sample);
                _operations = operations;
            }
        }
    }
}
