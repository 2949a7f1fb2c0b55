using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// The phase in force, following configuration live. A configured phase is entered only when it is safe: it
/// names a phase, the rest of the section is valid, its stores are configured and can be built, and it is at most
/// one step from the current one (skipping a dual phase would serve sessions one store never received). Otherwise the current phase stays
/// and the refusal is logged once per configuration change, quoting the value typed and naming its source.
/// </summary>
internal sealed class PhaseResolver(IOptionsMonitor<SessionStoreOptions> options, StoreRouting routing, PhaseSource source, ILogger logger)
{
    private readonly Lock _lock = new();
    private SessionStorePhase _phase = options.CurrentValue.Phase;
    private SessionStoreOptions? _refused;
    private string? _refusalLogged;

    /// <summary>The phase in force, without building any store.</summary>
    public SessionStorePhase Phase
    {
        get
        {
            Resolve();
            return _phase;
        }
    }

    /// <summary>The phase in force and its stores.</summary>
    public Route Current() => routing.For(Resolve());

    private SessionStorePhase Resolve()
    {
        var current = options.CurrentValue;
        var configured = current.Phase;
        var phase = _phase;
        if (configured == phase || ReferenceEquals(current, Volatile.Read(ref _refused)))
        {
            return phase;
        }

        lock (_lock)
        {
            if (configured == _phase || ReferenceEquals(current, _refused))
            {
                return _phase;
            }

            if (RefusalOf(current, configured) is { } reason)
            {
                _refused = current;
                // A file watcher often reloads twice for one save, each time with new options: the same refusal is
                // logged once, like the same invalid setting (4012).
                var typed = source.RawValue ?? configured.ToString();
                var refusal = $"{typed} {_phase} {reason}";
                if (refusal != _refusalLogged)
                {
                    _refusalLogged = refusal;
                    DualWriteLog.PhaseRefused(logger, typed, _phase, reason, source.Describe());
                }

                return _phase;
            }

            DualWriteLog.PhaseChanged(logger, _phase, configured, source.Describe());
            _refused = null;
            _refusalLogged = null;
            _phase = configured;
            return configured;
        }
    }

    private string? RefusalOf(SessionStoreOptions current, SessionStorePhase configured)
    {
        if (current.BindingFailure is { } unreadable)
        {
            return unreadable;
        }

        // The edit that changed the phase also broke a setting: it is refused whole, as the error logged for that
        // setting (4012) says, rather than leaving the operator to guess which half of it is in force.
        if (current.TuningFailures() is { Count: > 0 } tuning)
        {
            return $"The same configuration holds an invalid setting, and an edit is applied whole or not at all: {string.Join(" ", tuning)}";
        }

        if (configured == SessionStorePhase.Unspecified)
        {
            return SessionStoreOptions.NoPhase(source.RawValue);
        }

        if (PhaseRoles.SafeNextStep(_phase, configured) is { } step)
        {
            return $"Going from {_phase} to {configured} skips a step: the store that becomes primary has not received every write. Switch to {step} first, then on one step at a time.";
        }

        if (current.StoreFailures(configured).ToList() is { Count: > 0 } failures)
        {
            return string.Join(" ", failures);
        }

        try
        {
            routing.For(configured);
            return null;
        }
        catch (StoreUnavailableException e)
        {
            DualWriteLog.StoreUnavailable(logger, e.Message, StoreUnavailableException.SettingOf(e.Kind), e.InnerException!);
            return e.Message;
        }
    }
}
