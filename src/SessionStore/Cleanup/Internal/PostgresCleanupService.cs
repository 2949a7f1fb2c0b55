using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SessionStore.Cleanup.Internal;

/// <summary>Runs <see cref="PostgresCacheCleaner"/> on a jittered interval until the host stops.</summary>
/// <remarks>
/// <c>cleaner</c> returns the cleaner to run now, or null when cleanup does not apply (a migration phase that
/// does not write PostgreSQL); it is asked at every run, so the table's cache is built only once cleanup applies.
/// </remarks>
internal sealed partial class PostgresCleanupService(
    Func<PostgresCacheCleaner?> cleaner,
    IOptionsMonitor<PostgresCleanupOptions> options,
    TimeProvider time,
    ILogger<PostgresCleanupService> logger,
    Func<double>? random = null) : BackgroundService
{
    private readonly Func<double> _random = random ?? Random.Shared.NextDouble;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = CleanupSchedule.FirstDelay(options.CurrentValue.Interval, _random());
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Read at every run: the migration phase turns cleanup on and off through this flag without a restart.
            var current = options.CurrentValue;
            if (!current.Enabled || cleaner() is not { } active)
            {
                LogDisabled();
            }
            else
            {
                try
                {
                    await active.RunOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // The cleaner has logged it; the service must outlive a failed run and try again.
                catch (Exception)
#pragma warning restore CA1031
                {
                }
            }

            delay = CleanupSchedule.NextDelay(current.Interval, current.Jitter, _random());
        }
    }

    [LoggerMessage(SessionStoreEventIds.CleanupDisabled, LogLevel.Debug, "Scheduled cleanup skipped: cleanup is disabled, or the migration phase does not write PostgreSQL.")]
    private partial void LogDisabled();
}
