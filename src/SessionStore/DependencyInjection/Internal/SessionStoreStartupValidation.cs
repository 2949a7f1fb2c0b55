using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SessionStore.DualWrite.Internal;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>
/// Stops start-up, before the first request, when the session store cannot work in the configured phase; when
/// it can, logs the phase in force and which configuration source set it.
/// </summary>
internal sealed class SessionStoreStartupValidation(IOptionsMonitor<SessionStoreOptions> options, PhaseSource phaseSource, ILogger logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var current = options.CurrentValue;
        var failures = current.Validate().ToList();
        // Quoting the value typed and where it came from (an environment variable can hide a correct appsettings
        // value); not there when the section could not be bound at all (that failure says why).
        if (current.Phase == SessionStorePhase.Unspecified && phaseSource.RawValue is { } raw
            && failures.IndexOf(SessionStoreOptions.NoPhase(configuredValue: null)) is >= 0 and var noPhase)
        {
            failures[noPhase] = $"{SessionStoreOptions.NoPhase(raw)} It is set by {phaseSource.Describe()}.";
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(SessionStoreOptions.SectionName, typeof(SessionStoreOptions), failures);
        }

        DualWriteLog.PhaseInForce(logger, current.Phase, phaseSource.Describe());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
