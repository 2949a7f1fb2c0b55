using System.Diagnostics;

namespace SessionStore.Benchmarks;

/// <summary>What the process did during one HTTP run: collections and their pauses, thread pool growth and queueing, lock contention, connections opened.</summary>
internal sealed record RuntimeDiagnostics(int Gen0, int Gen1, int Gen2, TimeSpan GcPause, int MaxThreads, long MaxQueued, long LockContentions, long ConnectionsOpened);

/// <summary>One HTTP run's result.</summary>
internal sealed record HttpRun(string Store, int Connections, double RequestsPerSecond, string P50, string P99, RuntimeDiagnostics Diagnostics);

/// <summary>
/// Samples the runtime every 50 ms during a run, in process (the same figures <c>dotnet-counters</c> shows for
/// System.Runtime): a tail from starvation shows as queued work items and a growing thread count, one from
/// collections as pauses, one from the connection pool as connections opened on the request path.
/// </summary>
internal sealed class RuntimeSampler : IDisposable
{
    private readonly int _gen0 = GC.CollectionCount(0);
    private readonly int _gen1 = GC.CollectionCount(1);
    private readonly int _gen2 = GC.CollectionCount(2);
    private readonly TimeSpan _pause = GC.GetTotalPauseDuration();
    private readonly long _contentions = Monitor.LockContentionCount;
    private readonly long _opened;
    private readonly NpgsqlConnectionCounter _connections;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private int _maxThreads;
    private long _maxQueued;

    public RuntimeSampler(NpgsqlConnectionCounter connections)
    {
        _connections = connections;
        _opened = connections.Opened;
        _sampling = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                _maxThreads = Math.Max(_maxThreads, ThreadPool.ThreadCount);
                _maxQueued = Math.Max(_maxQueued, ThreadPool.PendingWorkItemCount);
                try
                {
                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
    }

    public RuntimeDiagnostics Stop()
    {
        _stop.Cancel();
        _sampling.GetAwaiter().GetResult();
        return new RuntimeDiagnostics(
            GC.CollectionCount(0) - _gen0, GC.CollectionCount(1) - _gen1, GC.CollectionCount(2) - _gen2,
            GC.GetTotalPauseDuration() - _pause, _maxThreads, _maxQueued, Monitor.LockContentionCount - _contentions,
            _connections.Opened - _opened);
    }

    public void Dispose() => _stop.Dispose();
}
