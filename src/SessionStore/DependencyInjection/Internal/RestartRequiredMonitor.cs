using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>
/// Logs once, as a warning, when a reload changes an option that is read only at start-up (a connection string,
/// a table name): the change is accepted by configuration but does nothing until the application restarts.
/// </summary>
/// <remarks>
/// The values themselves are never logged: a connection string may hold a password. Each key is reported once
/// per distinct new value; changing it back to the start-up value is silent. A change that makes the options
/// invalid (<paramref name="invalidAtStartUp"/>) is also logged as an error, with the validation's messages: nothing
/// else reads a start-up-only value before the next start-up, which it would stop.
/// </remarks>
internal sealed partial class RestartRequiredMonitor<TOptions>(
    IOptionsMonitor<TOptions> options,
    IReadOnlyList<(string Key, Func<TOptions, object?> Read)> startupOnlyKeys,
    Func<TOptions, IEnumerable<string>> invalidAtStartUp,
    string section,
    ILogger logger) : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string?> _atStartup = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _reported = new(StringComparer.Ordinal);
    private string? _reportedInvalid;
    private IDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _subscription?.Dispose();

    /// <summary>Records the start-up values and watches for changes.</summary>
    internal void Start()
    {
        var current = options.CurrentValue;
        lock (_lock)
        {
            foreach (var (key, read) in startupOnlyKeys)
            {
                _atStartup[key] = Format(read(current));
            }
        }

        _subscription = options.OnChange((changed, _) => Check(changed));
    }

    internal void Check(TOptions changed)
    {
        // Bound in part, its settings are not what configuration says: the reload is refused and logged elsewhere.
        if (changed is SessionStoreOptions { BindingFailure: not null })
        {
            return;
        }

        lock (_lock)
        {
            var changedKeys = new List<string>();
            foreach (var (key, read) in startupOnlyKeys)
            {
                var value = Format(read(changed));
                if (value != _atStartup[key] && (!_reported.TryGetValue(key, out var reported) || reported != value))
                {
                    _reported[key] = value;
                    changedKeys.Add(key);
                    LogRestartRequired(key);
                }
            }

            // Validated only when a start-up-only key changed: a reload of live settings is judged elsewhere.
            if (changedKeys.Count == 0)
            {
                return;
            }

            var failures = string.Join(" ", invalidAtStartUp(changed));
            if (failures.Length > 0 && failures != _reportedInvalid)
            {
                _reportedInvalid = failures;
                LogInvalidForNextStartUp(section, string.Join(", ", changedKeys), failures);
            }
        }
    }

    private static string? Format(object? value) => value switch
    {
        null => null,
        IFormattable formattable => formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    [LoggerMessage(SessionStoreEventIds.OptionsRestartRequired, LogLevel.Warning,
        "{Key} changed, but it is read only at start-up: the application goes on with the value it started with until it is restarted.")]
    private partial void LogRestartRequired(string key);

    [LoggerMessage(SessionStoreEventIds.OptionsReloadRefused, LogLevel.Error,
        "The configuration of {Section} is invalid and was not applied ({Keys} changed; they are read only at start-up), and the next start-up will stop on it until it is fixed: {Failures}")]
    private partial void LogInvalidForNextStartUp(string section, string keys, string failures);
}
