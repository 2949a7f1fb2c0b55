using System.Diagnostics;
using HdrHistogram;
using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Benchmarks;

/// <summary>The three requests the session middleware makes of a cache, and the write alone for the ceilings.</summary>
internal enum Workload
{
    /// <summary>A request that reads the session: Get, then RefreshAsync at commit.</summary>
    ReadOnly,

    /// <summary>A request that changes the session: Get, then SetAsync with the idle timeout.</summary>
    Modifying,

    /// <summary>A request that creates a session: SetAsync of a new key (a new session is not read first).</summary>
    NewSession,

    /// <summary>SetAsync of an existing session alone: the cache's upsert, measured against pgbench running the same statement.</summary>
    Write,
}

internal static class WorkloadRunner
{
    public static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    /// <summary>Runs <paramref name="concurrency"/> callers for <paramref name="duration"/>; returns requests done and their latency histogram (ticks).</summary>
    public static async Task<(long Requests, LongHistogram Latency)> RunAsync(
        IDistributedCache cache, Workload workload, int concurrency, TimeSpan duration, string[] keys, byte[] payload)
    {
        var histogram = new LongHistogram(TimeStamp.Seconds(10), 3);
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long requests = 0;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var local = new LongHistogram(TimeStamp.Seconds(10), 3);
            var random = new Random(worker);
            long done = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var started = Stopwatch.GetTimestamp();
                await RequestAsync(cache, workload, workload == Workload.NewSession ? StoreState.NewSessionPrefix + Guid.NewGuid().ToString("N") : keys[random.Next(keys.Length)], payload);
                local.RecordValue(Stopwatch.GetTimestamp() - started);
                done++;
            }

            lock (histogram)
            {
                histogram.Add(local);
                requests += done;
            }
        })));
        return (requests, histogram);
    }

    public static async Task RequestAsync(IDistributedCache cache, Workload workload, string key, byte[] payload)
    {
        switch (workload)
        {
            case Workload.ReadOnly:
                await cache.GetAsync(key);
                await cache.RefreshAsync(key);
                break;
            case Workload.Modifying:
                await cache.GetAsync(key);
                await cache.SetAsync(key, payload, IdleTimeout);
                break;
            default:
                await cache.SetAsync(key, payload, IdleTimeout);
                break;
        }
    }

    public static double Milliseconds(this LongHistogram histogram, double percentile) =>
        histogram.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency;
}
