using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>
/// Live options that a bad reload cannot break: a value that fails validation is logged once, as an error naming
/// each key and its allowed range, and the last valid value stays in force until the configuration is fixed.
/// </summary>
/// <remarks>
/// For options read while the application runs (a service loop, a request). Start-up validation stays the
/// caller's: before any valid value was seen, <c>fallback</c> is used, or, without one, the failure is thrown.
/// A source whose own <see cref="IValidateOptions{TOptions}"/> rejects the value throws
/// <see cref="OptionsValidationException"/> from <c>CurrentValue</c>, and one whose configuration holds a value the
/// binder cannot convert (<c>"2s"</c> for a <see cref="TimeSpan"/>) throws <see cref="InvalidOperationException"/>
/// naming the key and the value; both are caught and treated the same way.
/// </remarks>
internal sealed partial class LastValidOptionsMonitor<TOptions> : IOptionsMonitor<TOptions>, IDisposable
    where TOptions : class
{
    private readonly IOptionsMonitor<TOptions> _source;
    private readonly Func<TOptions, IReadOnlyList<string>> _validate;
    private readonly string _section;
    private readonly ILogger _logger;
    private readonly Func<TOptions>? _fallback;
    private readonly Func<TOptions, bool>? _reportedElsewhere;
    private readonly IDisposable? _reloads;
    private readonly Lock _lock = new();
    private TOptions? _lastValid;
    private string? _reported;

    // Options monitors hand out one instance until the next reload: an instance already judged is answered
    // without validating or locking again, which keeps this cheap on a request path.
    private volatile Judged? _judged;

    /// <param name="source">The options as configuration gives them, possibly invalid after a reload.</param>
    /// <param name="validate">Lists every invalid setting, each naming its key and what is allowed.</param>
    /// <param name="section">
    /// The configuration section the keys are under (e.g. <c>SessionStore:Cleanup</c>); it prefixes each failure
    /// that does not already start with it, so that the log names the full key.
    /// </param>
    /// <param name="logger">Receives one error per distinct invalid value.</param>
    /// <param name="fallback">The options to use when no valid value has been seen yet; null throws instead.</param>
    /// <param name="reportedElsewhere">
    /// True for an invalid value whose failure another monitor already logs (options projected from a section
    /// that could not be bound at all): it is refused all the same, but logged once, by that monitor.
    /// </param>
    public LastValidOptionsMonitor(IOptionsMonitor<TOptions> source, Func<TOptions, IReadOnlyList<string>> validate, string section, ILogger logger, Func<TOptions>? fallback = null, Func<TOptions, bool>? reportedElsewhere = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(validate);
        ArgumentNullException.ThrowIfNull(logger);
        _source = source;
        _validate = validate;
        _section = section;
        _logger = logger;
        _fallback = fallback;
        _reportedElsewhere = reportedElsewhere;

        // Judge each reload when it happens, not when the next caller reads: the operator who saved a bad value
        // sees the error at once, even while no request or service loop is reading these options.
        _reloads = source.OnChange((_, name) => JudgeReload(name));
    }

    public void Dispose() => _reloads?.Dispose();

    /// <summary>The current value when it is valid, else the last valid one.</summary>
    // Read on every request: the readers are static, so no delegate is allocated per read.
    public TOptions CurrentValue => Checked(static (source, _) => source.CurrentValue, name: null);

    public TOptions Get(string? name) => Checked(static (source, n) => source.Get(n), name);

    /// <summary>Listeners receive what <see cref="CurrentValue"/> returns, never an invalid value.</summary>
    public IDisposable? OnChange(Action<TOptions, string?> listener) => _source.OnChange((_, name) => listener(CurrentValue, name));

    private void JudgeReload(string? name)
    {
        try
        {
            _ = Get(name);
        }
        catch (Exception e) when (e is OptionsValidationException or InvalidOperationException)
        {
            // Nothing valid was ever seen and there is no fallback: start-up validation reports that, not a reload.
        }
    }

    private TOptions Checked(Func<IOptionsMonitor<TOptions>, string?, TOptions> read, string? name)
    {
        TOptions? candidate = null;
        IReadOnlyList<string> failures;
        try
        {
            candidate = read(_source, name);
            if (_judged is { } judged && ReferenceEquals(judged.Source, candidate))
            {
                return judged.InForce;
            }

            failures = _validate(candidate);
        }
        catch (OptionsValidationException e)
        {
            failures = e.Failures.ToList();
        }
        catch (InvalidOperationException e)
        {
            // The binder's own message names the key and the value it could not convert.
            failures = [e.Message];
        }

        lock (_lock)
        {
            if (failures.Count == 0)
            {
                _lastValid = candidate;
                _reported = null;
                _judged = new Judged(candidate!, candidate!);
                return candidate!;
            }

            var kept = _lastValid ?? _fallback?.Invoke()
                ?? throw new OptionsValidationException(_section, typeof(TOptions), failures);
            var report = string.Join("\n", failures);
            if (report != _reported && (candidate is null || _reportedElsewhere?.Invoke(candidate) != true))
            {
                _reported = report;
                // A failure that names its section's root already (the binder's, for the whole section) is not prefixed.
                var root = _section.Split(':')[0];
                var named = failures.Select(f => f.StartsWith(root, StringComparison.Ordinal) ? f : $"{_section}:{f}");
                LogRefused(_section, string.Join(" ", named), _lastValid is null ? "the defaults" : "the last valid options");
            }

            _lastValid ??= kept;
            if (candidate is not null)
            {
                _judged = new Judged(candidate, _lastValid);
            }

            return _lastValid;
        }
    }

    private sealed record Judged(TOptions Source, TOptions InForce);

    [LoggerMessage(SessionStoreEventIds.OptionsReloadRefused, LogLevel.Error,
        "The configuration of {Section} is invalid and was not applied; {Kept} stay in force until it is fixed: {Failures}")]
    private partial void LogRefused(string section, string failures, string kept);
}
