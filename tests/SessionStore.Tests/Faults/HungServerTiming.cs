using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Internal;

namespace SessionStore.Tests.Faults;

/// <summary>Times calls against a hung server, for the bounds the fault tests assert and report.</summary>
internal static class HungServerTiming
{
    /// <summary>How late an answer may come on a loaded two-core machine, beyond the bound itself.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(250);

    /// <summary>The operations every store bounds, by the names its timeout errors give them.</summary>
    public static TheoryData<string> Operations => ["get", "set", "refresh", "remove", "revoke", "ping"];

    /// <summary>Calls one operation of <paramref name="store"/> by name; a refresh goes to a key never read, so that it reaches the server.</summary>
    public static Task CallAsync(ISessionCacheProvider store, string operation, string key, CancellationToken token) => operation switch
    {
        "get" => store.GetAsync(key, token),
        "set" => store.SetAsync(key, [4], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, token),
        "refresh" => store.RefreshAsync(Guid.NewGuid().ToString(), token),
        "remove" => store.RemoveAsync(key, token),
        "revoke" => store.RevokeUserSessionsAsync("someone", token),
        _ => store.PingAsync(token),
    };

    /// <summary>Asserts that a call gave up after <paramref name="timeout"/>, no sooner and not much later, naming the store and the operation.</summary>
    public static void AssertTimedOut(SessionStoreTimeoutException error, TimeSpan elapsed, string store, string operation, TimeSpan timeout)
    {
        Assert.Equal(store, error.Store);
        Assert.Equal(operation, error.Operation);
        Assert.Contains(operation, error.Message, StringComparison.Ordinal);
        Assert.InRange(elapsed, timeout - TimeSpan.FromMilliseconds(50), timeout + Slack);
    }

    /// <summary>Runs <paramref name="call"/>, expecting <typeparamref name="TException"/>; returns it and how long the call took.</summary>
    public static async Task<(TException Error, TimeSpan Elapsed)> FailsAsync<TException>(Func<Task> call)
        where TException : Exception
    {
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<TException>(call);
        return (error, watch.Elapsed);
    }

    /// <summary>
    /// Cancels the token after <paramref name="after"/> and returns how long the call went on after that: the best of
    /// three tries, because a loaded machine (a collection, the first run of the cancellation path, a busy thread pool)
    /// only ever adds delay, while a call that ignores its token is late on every try.
    /// </summary>
    public static async Task<TimeSpan> CancellationLatencyAsync(Func<CancellationToken, Task> run, TimeSpan after)
    {
        var best = TimeSpan.MaxValue;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var latency = await OneCancellationLatencyAsync(run, after);
            best = latency < best ? latency : best;
        }

        return best;
    }

    private static async Task<TimeSpan> OneCancellationLatencyAsync(Func<CancellationToken, Task> run, TimeSpan after)
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
