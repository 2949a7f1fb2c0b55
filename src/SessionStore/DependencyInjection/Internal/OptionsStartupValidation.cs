using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>
/// Stops start-up, listing every problem, when options are invalid. Used instead of <see cref="IValidateOptions{TOptions}"/>
/// for options that reload live: a validator would also run inside each reload and throw there, while a bad
/// reload is meant to be logged and ignored (see <see cref="LastValidOptionsMonitor{TOptions}"/>).
/// </summary>
internal sealed class OptionsStartupValidation<TOptions>(IOptionsMonitor<TOptions> options, Func<TOptions, IReadOnlyList<string>> validate) : IHostedService
    where TOptions : class
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        validate(options.CurrentValue) is { Count: > 0 } failures
            ? throw new OptionsValidationException(typeof(TOptions).Name, typeof(TOptions), failures)
            : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
