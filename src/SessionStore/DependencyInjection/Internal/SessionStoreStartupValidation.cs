using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>Stops start-up, before the first request, when the session store cannot work in the configured phase.</summary>
internal sealed class SessionStoreStartupValidation(IOptionsMonitor<SessionStoreOptions> options, Func<string?>? configuredPhase) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var current = options.CurrentValue;
        var failures = current.Validate().ToList();
        if (current.Phase == SessionStorePhase.Unspecified && configuredPhase?.Invoke() is { } raw)
        {
            failures[failures.IndexOf(SessionStoreOptions.NoPhase(configuredValue: null))] = SessionStoreOptions.NoPhase(raw);
        }

        return failures.Count > 0
            ? throw new OptionsValidationException(SessionStoreOptions.SectionName, typeof(SessionStoreOptions), failures)
            : Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
