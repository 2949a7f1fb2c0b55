using Microsoft.Extensions.Logging;
using Npgsql;

namespace SessionStore.Internal;

/// <summary>
/// Compares the application's clock with the database's once, on the first write, and warns when they differ by
/// more than <see cref="Tolerance"/>. The clock rule (docs/security.md) makes entry lifetimes immune to such a
/// skew, but the instants the table records (<c>absolute_expire</c>, <c>updated_at</c>) are on the database's
/// clock, so an operator comparing them with application logs should know.
/// </summary>
internal sealed partial class ClockSkewCheck(NpgsqlDataSource dataSource, TimeProvider time, ILogger logger)
{
    /// <summary>The skew tolerated in silence, beyond half the measuring round trip.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger = logger;
    private int _started;

    /// <summary>Measures the skew unless it was measured already; a failed measurement is tried again on the next call.</summary>
    public async ValueTask CheckOnceAsync(bool async, CancellationToken token)
    {
        if (Volatile.Read(ref _started) != 0 || Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        try
        {
            using var command = dataSource.CreateCommand("SELECT now()");

            // As for the cache's own statements: an asynchronous one is bounded by the caller, and a driver timeout
            // would only send a cancel request that blocks a thread against a hung server.
            command.CommandTimeout = async ? 0 : command.CommandTimeout;
            var sent = time.GetUtcNow();
            var started = time.GetTimestamp();
            var result = async ? await command.ExecuteScalarAsync(token).ConfigureAwait(false) : command.ExecuteScalar();
            var roundTrip = time.GetElapsedTime(started);
            var databaseNow = new DateTimeOffset(DateTime.SpecifyKind((DateTime)result!, DateTimeKind.Utc));

            // The database read its clock somewhere within the round trip; its middle is the best guess.
            var skew = databaseNow - (sent + (roundTrip / 2));
            if (skew.Duration() > Tolerance + (roundTrip / 2))
            {
                LogClockSkew(skew.TotalSeconds, Tolerance.TotalSeconds);
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or OperationCanceledException)
        {
            // Best effort: the write that follows reports an unreachable database itself.
            Volatile.Write(ref _started, 0);
            if (e is OperationCanceledException)
            {
                throw;
            }
        }
    }

    [LoggerMessage(SessionStoreEventIds.PostgresClockSkew, LogLevel.Warning,
        "The database clock is {SkewSeconds:F1} s ahead of the application clock (negative: behind); more than the {ToleranceSeconds} s tolerated. " +
        "Entry lifetimes are unaffected (absolute expirations are turned into durations on the application clock), but instants stored in the table are on the database clock.")]
    private partial void LogClockSkew(double skewSeconds, double toleranceSeconds);
}
