using Microsoft.Extensions.Logging;
using SessionStore.Diagnostics;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>The dual-write cache's counts since start-up, each also published as a metric.</summary>
internal sealed class DualWriteCounters(SessionStoreInstruments instruments, Func<SessionStoreOptions> options, ILogger logger)
{
    private readonly long[] _mismatches = new long[Enum.GetValues<SessionMismatchKind>().Length];
    private readonly long[] _comparisons = new long[Enum.GetValues<ComparisonOutcome>().Length];
    private long _secondaryFailures;
    private long _readRepairs;
    private long _failovers;
    private long _catchUpReplayed;

    public SessionStoreInstruments Instruments => instruments;

    public long SecondaryFailures => Interlocked.Read(ref _secondaryFailures);

    public long ReadRepairs => Interlocked.Read(ref _readRepairs);

    public long Failovers => Interlocked.Read(ref _failovers);

    public long CatchUpReplayed => Interlocked.Read(ref _catchUpReplayed);

    public long ComparisonsWith(ComparisonOutcome outcome) => Interlocked.Read(ref _comparisons[(int)outcome]);

    public IReadOnlyDictionary<SessionMismatchKind, long> Mismatches =>
        Enum.GetValues<SessionMismatchKind>().ToDictionary(kind => kind, kind => Interlocked.Read(ref _mismatches[(int)kind]));

    /// <summary>A secondary operation failed or timed out: counted, and logged at the level the application chose.</summary>
    public void SecondaryFailed(string store, string operation, string key, Exception? e)
    {
        CountSecondaryFailure(store, operation);
        if (e is not null)
        {
            DualWriteLog.SecondaryFailed(logger, options().SecondaryFailureLogLevel, store, operation, KeyHash.Of(key), e);
        }
    }

    /// <summary>A background read of the store copied from failed: not the secondary's failure, so logged at debug level only.</summary>
    public void SourceReadFailed(string store, string operation, string key, Exception e) =>
        DualWriteLog.SourceReadFailed(logger, store, operation, KeyHash.Of(key), e);

    /// <summary>A secondary operation was not sent because the store's breaker is open: counted, not logged (the opening was).</summary>
    public void SecondarySkipped(string store, string operation)
    {
        CountSecondaryFailure(store, operation);
        SessionStoreActivities.SecondarySkipped(store, operation);
    }

    private void CountSecondaryFailure(string store, string operation)
    {
        Interlocked.Increment(ref _secondaryFailures);
        instruments.SecondaryFailed(store, operation);
    }

    public void Repaired(string store)
    {
        Interlocked.Increment(ref _readRepairs);
        instruments.Repaired(store);
        SessionStoreActivities.ReadRepaired(store);
    }

    public void FailedOver(string store, string key, Exception e)
    {
        Interlocked.Increment(ref _failovers);
        SessionStoreActivities.FailedOver(store);
        DualWriteLog.ReadFailover(logger, store, KeyHash.Of(key), e);
    }

    public void Compared(ComparisonOutcome outcome)
    {
        Interlocked.Increment(ref _comparisons[(int)outcome]);
        instruments.Compared(outcome);
    }

    public void Mismatch(SessionMismatch mismatch)
    {
        Interlocked.Increment(ref _mismatches[(int)mismatch.Kind]);
        instruments.Mismatch(mismatch.Kind);
        DualWriteLog.Mismatch(logger, mismatch.Kind, mismatch.Phase, mismatch.KeyHash);
        try
        {
            options().OnMismatch?.Invoke(mismatch);
        }
        catch (Exception e)
        {
            DualWriteLog.MismatchCallbackFailed(logger, mismatch.KeyHash, e);
        }
    }

    public void Replayed(string store)
    {
        Interlocked.Increment(ref _catchUpReplayed);
        instruments.CatchUpReplayed(store);
    }
}
