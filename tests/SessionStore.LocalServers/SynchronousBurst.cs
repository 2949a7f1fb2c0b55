using System.Collections.Concurrent;
using System.Diagnostics;

namespace SessionStore.LocalServers;

/// <summary>
/// A burst of synchronous reads larger than the thread pool, as ASP.NET Core's session middleware makes in an app
/// that does not await <c>LoadAsync</c>: more callers than the pool has threads, each read queued again behind the
/// others, as new requests arrive. Shared by the test that a store survives it and the benchmark that compares stores.
/// </summary>
public static class SynchronousBurst
{
    /// <summary>What one burst did: reads made, the failures among them, how long it took, the pool's threads after it.</summary>
    public sealed record Result(int Reads, IReadOnlyCollection<Exception> Failures, TimeSpan Elapsed, int ThreadsAfter);

    /// <summary>Runs <paramref name="readsPerCaller"/> reads per caller, each a call of <paramref name="read"/> that must return <paramref name="expected"/>.</summary>
    /// <exception cref="TimeoutException">The burst was not done within <paramref name="limit"/>.</exception>
    public static Result Run(Func<byte[]?> read, byte[] expected, int readsPerCaller, TimeSpan limit)
    {
        var callers = ThreadPool.ThreadCount + (4 * Environment.ProcessorCount) + 16;
        var failures = new ConcurrentQueue<Exception>();

        // Not disposed: after a timeout the reads still queued signal it when they end (and stop early, see below).
        var finished = new CountdownEvent(callers);
        var abandoned = false;
        void Read(int remaining)
        {
            try
            {
                if (!expected.AsSpan().SequenceEqual(read()))
                {
                    failures.Enqueue(new InvalidOperationException("The read returned another value."));
                }
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }

            if (remaining > 1 && !Volatile.Read(ref abandoned))
            {
                ThreadPool.QueueUserWorkItem(_ => Read(remaining - 1));
            }
            else
            {
                finished.Signal();
            }
        }

        var started = Stopwatch.GetTimestamp();
        for (var caller = 0; caller < callers; caller++)
        {
            ThreadPool.QueueUserWorkItem(_ => Read(readsPerCaller));
        }

        if (!finished.Wait(limit))
        {
            Volatile.Write(ref abandoned, true);
            throw new TimeoutException($"{finished.CurrentCount} of {callers} callers were still reading after {limit.TotalSeconds:0} s.");
        }

        return new Result(callers * readsPerCaller, failures, Stopwatch.GetElapsedTime(started), ThreadPool.ThreadCount);
    }
}
