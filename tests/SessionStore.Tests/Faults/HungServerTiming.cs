using System.Diagnostics;

namespace SessionStore.Tests.Faults;

/// <summary>Times calls against a hung server, for the bounds the fault tests assert and report.</summary>
internal static class HungServerTiming
{
    /// <summary>How late an answer may come on a loaded two-core machine, beyond the bound itself.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(250);

    /// <summary>Runs <paramref name="call"/>, expecting <typeparamref name="TException"/>; returns it and how long the call took.</summary>
    public static async Task<(TException Error, TimeSpan Elapsed)> FailsAsync<TException>(Func<Task> call)
        where TException : Exception
    {
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<TException>(call);
        return (error, watch.Elapsed);
    }

    /// <summary>Cancels the token after <paramref name="after"/> and returns how long the call went on after that.</summary>
    public static async Task<TimeSpan> CancellationLatencyAsync(Func<CancellationToken, Task> run, TimeSpan after)
    {
        using var cancellation = new CancellationTokenSource();
        var call = Assert.ThrowsAnyAsync<OperationCanceledException>(() => run(cancellation.Token));
        await Task.Delay(after, TestContext.Current.CancellationToken);
        Assert.False(call.IsCompleted, "The call ended before it was cancelled: the server is not hung.");

        // The cancellation may complete the call inline, inside Cancel, so the clock starts before it.
        var cancelledAt = Stopwatch.GetTimestamp();
        await cancellation.CancelAsync();
        await call;
        return Stopwatch.GetElapsedTime(cancelledAt);
    }
}
