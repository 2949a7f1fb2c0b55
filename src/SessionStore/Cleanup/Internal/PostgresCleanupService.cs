using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SessionStore.Cleanup.Internal;

/// <summary>Runs <see cref="PostgresSessionCleaner"/> on a jittered interval until the host stops.</summary>
/// <remarks>
/// <c>cleaner</c> returns the cleaner to run now, or null when cleanup does not apply (a migration phase that
/// does not write PostgreSQL); it is asked at every run, so the table's cache is built only once cleanup applies.
/// <c>options</c> is expected to hold only valid values (registration wraps it in a last-valid monitor); the
/// schedule still never waits less than <see cref="CleanupSchedule.MinimumDelay"/>, so nothing can make it spin.
/// Nothing a run throws stops the host: a failed run is logged by the cleaner and the next one backs off.
/// </remarks>
internal sealed partial class PostgresCleanupService(
    Func<PostgresSessionCleaner?> cleaner,
    IOptionsMonitor<PostgresCleanupOptions> options,
    TimeProvider time,
    ILogger<PostgresCleanupService> logger,
    Func<double>? random = null) : BackgroundService
{
    private readonly Func<double> _random = random ?? Random.Shared.NextDouble;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = CleanupSchedule.FirstDelay(options.CurrentValue.Interval, _random());
        var failuresInARow = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(CleanupSchedule.Bounded(delay), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Read at every run: the migration phase turns cleanup on and off through this flag without a restart.
            var current = options.CurrentValue;
            try
            {
                if (!current.Enabled || cleaner() is not { } active)
                {
                    LogDisabled();
                }
                else
                {
                    // Returns at once when the host stops, even while the run waits on a hung server (it is left to end).
                    await active.RunOnceAsync(stoppingToken).ConfigureAwait(false);
                }

                failuresInARow = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The cleaner has logged it; the service must outlive a failed run and try again.
            catch (Exception)
#pragma warning restore CA1031
            {
                failuresInARow++;
            }

            delay = CleanupSchedule.NextDelay(current.Interval, current.Jitter, _random());
            if (failuresInARow > 1)
            {
                delay = CleanupSchedule.BackOff(delay, current.Interval, failuresInARow);
                LogBackingOff(failuresInARow, delay.TotalSeconds);
            }
        }
    }

    [LoggerMessage(SessionStoreEventIds.CleanupDisabled, LogLevel.Debug, "Scheduled cleanup skipped: cleanup is disabled, or the migration phase does not write PostgreSQL.")]
    private partial void LogDisabled();

    [LoggerMessage(SessionStoreEventIds.CleanupBackingOff, LogLevel.Information, "Cleanup failed {Failures} runs in a row; the next run is in {DelaySeconds:F0} s.")]
    private partial void LogBackingOff(int failures, double delaySeconds);
}
