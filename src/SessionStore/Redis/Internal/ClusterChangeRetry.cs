using System.Diagnostics;
using StackExchange.Redis;

namespace SessionStore.Redis.Internal;

/// <summary>
/// Retries an operation the server refused without running it because the cluster was changing under it: a
/// transaction whose queued command met <c>ASK</c>/<c>MOVED</c> while its slot moved (<c>EXECABORT</c>, which
/// StackExchange.Redis does not follow for <c>MULTI</c>), a redirect the client gave up on, <c>TRYAGAIN</c> during
/// a slot migration, <c>CLUSTERDOWN</c> or <c>MASTERDOWN</c> while a replica takes over, <c>READONLY</c>/<c>LOADING</c>
/// on a node that just changed role. Because none of these ran anything, a retry is safe even for conditional
/// writes. Timeouts and broken connections are not retried: the command may have run.
/// </summary>
internal static class ClusterChangeRetry
{
    /// <summary>Attempts in all; with the back-off below, about 5 s of waiting (a failover's length), cut short by the operation timeout.</summary>
    public const int MaximumAttempts = 16;

    // "Key has MOVED": StackExchange.Redis follows one redirect per command; a second (a slot that moved on again, or a
    // failover right after a reshard) comes back as this error, unexecuted.
    private static readonly string[] RefusalPrefixes = ["EXECABORT", "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "LOADING", "Key has MOVED"];

    /// <summary>Whether the server refused the command, before running it, because of a topology change.</summary>
    public static bool IsRefusedWhileClusterChanges(Exception e) =>
        e is RedisServerException or RedisCommandException
        && RefusalPrefixes.Any(prefix => e.Message.StartsWith(prefix, StringComparison.Ordinal) && (e.Message.Length == prefix.Length || e.Message[prefix.Length] == ' '));

    /// <summary>
    /// Runs <paramref name="operation"/>, again after a short, growing pause while it is refused as above, at most
    /// <see cref="MaximumAttempts"/> times and never past <paramref name="budget"/> from the first attempt.
    /// </summary>
    public static async ValueTask<T> RunAsync<T>(Func<ValueTask<T>> operation, TimeSpan budget, Action<Exception, int> onRetry, CancellationToken token)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operation().ConfigureAwait(false);
            }
            catch (Exception e) when (IsRefusedWhileClusterChanges(e) && attempt < MaximumAttempts && Stopwatch.GetElapsedTime(started) + Pause(attempt) < budget)
            {
                onRetry(e, attempt);
                await Task.Delay(Pause(attempt), token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>10, 20, 40 … ms, at most 500: a migrating slot with a few keys moves in milliseconds; a failover takes longer.</summary>
    private static TimeSpan Pause(int attempt) => TimeSpan.FromMilliseconds(Math.Min(10 << (attempt - 1), 500));
}
