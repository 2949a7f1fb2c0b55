using System.Collections.Concurrent;
using System.Diagnostics;
using SessionStore.Internal;

namespace SessionStore.Postgres.Internal;

/// <summary>
/// Coalesces concurrent requests of one kind (primary-key reads, or writes) into one statement, as a database
/// coalesces concurrent commits into one WAL flush. A request that finds no statement started in the last
/// <see cref="Stalled"/> goes alone, at once; requests that arrive while one has just started wait for it and then
/// go together, as one statement (or batch) on one connection. On two cores this about halves the server's CPU per
/// read: most of it was waking one server process per statement, not finding the row.
/// </summary>
/// <remarks>
/// <para>
/// A statement under way holds a lease. Another starts only when every lease is older than <see cref="Stalled"/>,
/// up to <see cref="MaximumInFlight"/> at once: a slow statement (a page read from disk, a busy server) holds the
/// requests queued behind it for about that long, no longer; a timer starts them when no other request arrives to.
/// A lease older than the store's operation timeout counts as free, so a statement that never ends (a hung
/// server, a connection that died silently) cannot hold one forever; each caller's own deadline
/// (<see cref="StoreDeadline"/>) has stopped waiting for it by then, and a queued request that old, or whose caller
/// cancelled, is failed, not sent.
/// </para>
/// <para>
/// Coalesced statements run on the thread pool without any caller's execution context (so no caller's span or
/// log scope covers them), and complete their requests asynchronously, so that no caller's continuation runs inside.
/// </para>
/// </remarks>
/// <typeparam name="TRequest">What one caller asks for: a key to read, a write.</typeparam>
/// <typeparam name="TResult">What it gets back.</typeparam>
internal sealed class StatementBatcher<TRequest, TResult> : IDisposable
{
    public const int MaximumBatchSize = 64;
    public const int MaximumInFlight = 8;

    private static readonly TimeSpan Stalled = TimeSpan.FromMilliseconds(1);

    private readonly Func<TRequest[], Task<TResult[]>> _runMany;
    private readonly TimeSpan _abandonAfter;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<Waiter> _queue = new();

    // When each lease was taken (a TimeProvider timestamp); 0 when free.
    private readonly long[] _leases = new long[MaximumInFlight];
    private readonly ITimer _wake;
    private int _wakeArmed;
    private long _statements;
    private long _requests;

    /// <param name="runMany">Runs several requests in one statement; returns a result for each, in the same order.</param>
    /// <param name="abandonAfter">When a lease counts as abandoned: the store's operation timeout.</param>
    /// <param name="time">The clock leases are taken by.</param>
    public StatementBatcher(Func<TRequest[], Task<TResult[]>> runMany, TimeSpan abandonAfter, TimeProvider time)
    {
        _runMany = runMany;
        _abandonAfter = abandonAfter;
        _time = time;
        using (ExecutionContext.SuppressFlow())
        {
            _wake = time.CreateTimer(static state => ((StatementBatcher<TRequest, TResult>)state!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Statements sent so far: fewer than <see cref="Requests"/> when requests were coalesced.</summary>
    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>Requests so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>
    /// True when no request is queued and no statement started in the last <see cref="Stalled"/>: the caller goes
    /// alone, at once, with its own plain statement, and gives <paramref name="lease"/> back to
    /// <see cref="Release"/> when it ended.
    /// </summary>
    public bool TryGoAlone(out Lease lease)
    {
        if (_queue.IsEmpty && TryLease(out _) is { } taken)
        {
            Interlocked.Increment(ref _statements);
            Interlocked.Increment(ref _requests);
            lease = taken;
            return true;
        }

        lease = default;
        return false;
    }

    /// <summary>
    /// Queues a request to go with the next statement; its result. <paramref name="startedAt"/> is when its caller
    /// started waiting (a <see cref="TimeProvider"/> timestamp): a request whose caller has waited past the operation
    /// timeout, or cancelled <paramref name="callerToken"/>, is failed, not sent. The token only says whether to
    /// send: a statement under way serves other callers too, so it is never cancelled.
    /// </summary>
    public Task<TResult> GoTogetherAsync(TRequest request, long startedAt, CancellationToken callerToken)
    {
        var waiter = new Waiter(request, startedAt, callerToken);
        _queue.Enqueue(waiter);
        StartIfDue();
        return waiter.Task;
    }

    /// <summary>Frees a lease (unless it was taken over as abandoned) and starts the queued requests, if any.</summary>
    public void Release(Lease lease)
    {
        // Only the holder frees its lease: one taken over as abandoned belongs to another statement now.
        Interlocked.CompareExchange(ref _leases[lease.Index], 0, lease.TakenAt);
        StartIfDue();
    }

    public void Dispose() => _wake.Dispose();

    private void Wake()
    {
        Volatile.Write(ref _wakeArmed, 0);
        StartIfDue();
    }

    private void StartIfDue()
    {
        if (_queue.IsEmpty)
        {
            return;
        }

        if (TryLease(out var retryAfter) is { } lease)
        {
            // Started here (a hop to the thread pool cost a fifth of the throughput), but carrying no caller's
            // context past its first await, and no caller's span at all: it serves many callers, and later ones too.
            using (ExecutionContext.SuppressFlow())
            {
                _ = RunBatchesAsync(lease);
            }
        }
        else if (Interlocked.Exchange(ref _wakeArmed, 1) == 0)
        {
            // No request may arrive to start the queued ones once the statement holding them back stalls or is abandoned.
            _wake.Change(retryAfter, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// A free (or abandoned) lease, unless a statement started less than <see cref="Stalled"/> ago (it takes the
    /// queue when it ends) or all are busy; then <paramref name="retryAfter"/> says when to look again.
    /// </summary>
    private Lease? TryLease(out TimeSpan retryAfter)
    {
        var now = Now();
        var candidate = -1;
        var candidateTaken = 0L;
        retryAfter = _abandonAfter;
        for (var i = 0; i < _leases.Length; i++)
        {
            var taken = Volatile.Read(ref _leases[i]);
            var age = taken == 0 ? _abandonAfter : _time.GetElapsedTime(taken, now);
            if (age >= _abandonAfter)
            {
                if (candidate < 0)
                {
                    (candidate, candidateTaken) = (i, taken);
                }
            }
            else if (age < Stalled)
            {
                // A whole Stalled, not what is left of it: a timer due in microseconds fires at once, again and again.
                retryAfter = Stalled;
                return null;
            }
            else
            {
                retryAfter = TimeSpan.FromTicks(Math.Min(retryAfter.Ticks, (_abandonAfter - age).Ticks));
            }
        }

        if (candidate < 0)
        {
            return null;
        }

        // Taken only if still as seen in the scan: another caller may have taken it meanwhile.
        retryAfter = Stalled;
        return Interlocked.CompareExchange(ref _leases[candidate], now, candidateTaken) == candidateTaken ? new Lease(candidate, now) : null;
    }

    /// <summary>Renews the lease for the next statement; false when it was taken over as abandoned.</summary>
    private bool TryRenew(ref Lease lease)
    {
        var now = Now();
        if (Interlocked.CompareExchange(ref _leases[lease.Index], now, lease.TakenAt) != lease.TakenAt)
        {
            return false;
        }

        lease = lease with { TakenAt = now };
        return true;
    }

    // Never 0, which marks a free lease.
    private long Now() => Math.Max(1, _time.GetTimestamp());

    private async Task RunBatchesAsync(Lease lease)
    {
        // An async method's change to the current activity stays in it: the caller's span is untouched.
        Activity.Current = null;
        try
        {
            var batch = new List<Waiter>(MaximumBatchSize);
            do
            {
                batch.Clear();
                while (batch.Count < MaximumBatchSize && _queue.TryDequeue(out var waiter))
                {
                    // Its caller has stopped waiting (a stall, a hung server, a cancelled request): a read sent now would
                    // only delay the live ones, and a write could land over one its caller has made since.
                    if (StoreDeadline.HasStoppedWaiting(_time, waiter.StartedAt, _abandonAfter, waiter.CallerToken))
                    {
                        waiter.TrySetException(StoreDeadline.NotSent(waiter.CallerToken));
                        continue;
                    }

                    batch.Add(waiter);
                }

                if (batch.Count == 0)
                {
                    return;
                }

                await RunBatchAsync(batch).ConfigureAwait(false);
            }
            while (TryRenew(ref lease));
        }
        finally
        {
            Release(lease);
        }
    }

    private async Task RunBatchAsync(List<Waiter> batch)
    {
        Interlocked.Increment(ref _statements);
        Interlocked.Add(ref _requests, batch.Count);
        try
        {
            var requests = new TRequest[batch.Count];
            for (var i = 0; i < requests.Length; i++)
            {
                requests[i] = batch[i].Request;
            }

            var results = await _runMany(requests).ConfigureAwait(false);
            if (results.Length != batch.Count)
            {
                throw new InvalidOperationException($"A coalesced statement returned {results.Length} results for {batch.Count} requests.");
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].TrySetResult(results[i]);
            }
        }
        catch (Exception e)
        {
            // Every request in the statement failed with it; each caller's ExecuteAsync explains it as for one alone.
            foreach (var waiter in batch)
            {
                waiter.TrySetException(e);
            }
        }
    }

    /// <summary>One of <see cref="MaximumInFlight"/> slots, and when its holder took it.</summary>
    public readonly record struct Lease(int Index, long TakenAt);

    private sealed class Waiter(TRequest request, long startedAt, CancellationToken callerToken)
        : TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public TRequest Request { get; } = request;

        public long StartedAt { get; } = startedAt;

        public CancellationToken CallerToken { get; } = callerToken;
    }
}
