using System.Collections.Concurrent;
using SessionStore.Internal;

namespace SessionStore.Postgres.Internal;

/// <summary>
/// Coalesces concurrent primary-key reads into one statement, as a database coalesces concurrent commits into one
/// WAL flush. A read that finds no other read under way goes alone, at once; reads that arrive while one is under
/// way wait for it and then go together, as one statement on one connection. On two cores this halves the
/// server's CPU per read: most of it was waking one server process per statement, not finding the row.
/// </summary>
/// <remarks>
/// <para>
/// A read under way holds a lease. Another statement starts only when every lease is older than
/// <see cref="Stalled"/>: a slow statement (a cold page, a lock on the catalog) does not hold back the reads
/// queued behind it for longer than that, up to <see cref="MaximumInFlight"/> statements at once. A lease older
/// than <paramref name="abandonAfter"/> counts as free, so a statement that never ends (a hung server, a
/// connection that died silently) cannot hold a lease forever; each caller's own deadline
/// (<see cref="StoreDeadline"/>) has already stopped waiting for it by then.
/// </para>
/// <para>Results are completed asynchronously, so that no caller's continuation runs inside the batch.</para>
/// </remarks>
/// <typeparam name="TRow">A found row; null when the key has no live row.</typeparam>
/// <param name="readMany">Reads several keys in one statement; returns a row for each key, in the same order.</param>
/// <param name="abandonAfter">When a lease counts as abandoned: the store's operation timeout.</param>
/// <param name="time">The clock leases are taken by.</param>
internal sealed class ReadBatcher<TRow>(
    Func<string[], Task<TRow?[]>> readMany,
    TimeSpan abandonAfter,
    TimeProvider time)
    where TRow : struct
{
    public const int MaximumBatchSize = 64;
    public const int MaximumInFlight = 8;

    private static readonly TimeSpan Stalled = TimeSpan.FromMilliseconds(1);

    private readonly ConcurrentQueue<Waiter> _queue = new();

    // When each lease was taken (a TimeProvider timestamp); 0 when free.
    private readonly long[] _leases = new long[MaximumInFlight];

    private long _statements;
    private long _reads;

    /// <summary>Statements sent for reads so far: fewer than <see cref="Reads"/> when reads were coalesced.</summary>
    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>Reads so far.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>
    /// True when nothing else is queued or under way: the caller reads alone, at once, with the plain
    /// primary-key statement, and gives <paramref name="lease"/> back to <see cref="Release"/> when it ended.
    /// </summary>
    public bool TryReadAlone(out Lease lease)
    {
        if (_queue.IsEmpty && TryLease() is { } taken)
        {
            Interlocked.Increment(ref _statements);
            Interlocked.Increment(ref _reads);
            lease = taken;
            return true;
        }

        lease = default;
        return false;
    }

    /// <summary>Queues a read to go with the next statement; the row, or null when the key has no live row.</summary>
    public Task<TRow?> ReadTogetherAsync(string key)
    {
        var waiter = new Waiter(key);
        _queue.Enqueue(waiter);
        StartIfDue();
        return waiter.Task;
    }

    /// <summary>Frees a lease (unless it was taken over as abandoned) and starts the queued reads, if any.</summary>
    public void Release(Lease lease)
    {
        // Only the holder frees its lease: one taken over as abandoned belongs to another statement now.
        Interlocked.CompareExchange(ref _leases[lease.Index], 0, lease.TakenAt);
        StartIfDue();
    }

    private void StartIfDue()
    {
        if (!_queue.IsEmpty && TryLease() is { } lease)
        {
            _ = RunBatchesAsync(lease);
        }
    }

    /// <summary>A free (or abandoned) lease, unless a statement started less than <see cref="Stalled"/> ago: it takes the queue when it ends.</summary>
    private Lease? TryLease()
    {
        var now = Math.Max(1, time.GetTimestamp());
        var candidate = -1;
        for (var i = 0; i < _leases.Length; i++)
        {
            var taken = Volatile.Read(ref _leases[i]);
            if (taken == 0 || time.GetElapsedTime(taken, now) >= abandonAfter)
            {
                candidate = candidate < 0 ? i : candidate;
            }
            else if (time.GetElapsedTime(taken, now) < Stalled)
            {
                return null;
            }
        }

        if (candidate < 0)
        {
            return null;
        }

        var previous = Volatile.Read(ref _leases[candidate]);
        return (previous == 0 || time.GetElapsedTime(previous, now) >= abandonAfter)
            && Interlocked.CompareExchange(ref _leases[candidate], now, previous) == previous
                ? new Lease(candidate, now)
                : null;
    }

    /// <summary>Renews the lease for the next statement; false when it was taken over as abandoned.</summary>
    private bool TryRenew(ref Lease lease)
    {
        var now = Math.Max(1, time.GetTimestamp());
        if (Interlocked.CompareExchange(ref _leases[lease.Index], now, lease.TakenAt) != lease.TakenAt)
        {
            return false;
        }

        lease = lease with { TakenAt = now };
        return true;
    }

    private async Task RunBatchesAsync(Lease lease)
    {
        try
        {
            var batch = new List<Waiter>(MaximumBatchSize);
            do
            {
                batch.Clear();
                while (batch.Count < MaximumBatchSize && _queue.TryDequeue(out var waiter))
                {
                    batch.Add(waiter);
                }

                if (batch.Count == 0)
                {
                    return;
                }

                await ReadBatchAsync(batch).ConfigureAwait(false);
            }
            while (TryRenew(ref lease));
        }
        finally
        {
            Release(lease);
        }
    }

    private async Task ReadBatchAsync(List<Waiter> batch)
    {
        Interlocked.Increment(ref _statements);
        Interlocked.Add(ref _reads, batch.Count);
        try
        {
            var keys = new string[batch.Count];
            for (var i = 0; i < keys.Length; i++)
            {
                keys[i] = batch[i].Key;
            }

            var rows = await readMany(keys).ConfigureAwait(false);
            for (var i = 0; i < rows.Length; i++)
            {
                batch[i].TrySetResult(rows[i]);
            }
        }
        catch (Exception e)
        {
            // Every read in the statement failed with it; each caller's ExecuteAsync explains it as for a read alone.
            foreach (var waiter in batch)
            {
                waiter.TrySetException(e);
            }
        }
    }

    /// <summary>One of <see cref="MaximumInFlight"/> slots, and when its holder took it.</summary>
    public readonly record struct Lease(int Index, long TakenAt);

    private sealed class Waiter(string key) : TaskCompletionSource<TRow?>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public string Key { get; } = key;
    }
}
