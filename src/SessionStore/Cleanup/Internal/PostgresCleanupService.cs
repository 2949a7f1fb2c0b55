using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SessionStore.Cleanup.Internal;

/// <summary>Runs <see cref="PostgresCacheCleaner"/> on a jittered interval until the host stops.</summary>
internal sealed partial class PostgresCleanupService(
    PostgresCacheCleaner cleaner,
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
            if (!current.Enabled)
            {
                LogDisabled();
            }
            else
            {
                try
                {
                    await cleaner.RunOnceAsync(stoppingToken).ConfigureAwait(false);
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

    [LoggerMessage(SessionStoreEventIds.CleanupDisabled, LogLevel.Debug, "Scheduled cleanup skipped: cleanup is disabled.")]
    private partial void LogDisabled();
}
