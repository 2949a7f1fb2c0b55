using Microsoft.Extensions.Configuration;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// Where the phase setting comes from: its raw text (the enum loses a value that names no phase, and an error
/// must quote what was typed) and the configuration provider that supplied it (an environment variable
/// silently wins over an appsettings edit, so the log says which one is in force).
/// </summary>
internal sealed class PhaseSource
{
    private readonly IConfiguration? _section;
    private readonly Func<IConfiguration?> _root;

    private PhaseSource(IConfiguration? section, Func<IConfiguration?> root) => (_section, _root) = (section, root);

    /// <summary>The phase is set in code: there is no raw text, and the code is the source.</summary>
    public static PhaseSource Code { get; } = new(null, () => null);

    /// <summary>The phase is read from <paramref name="section"/>; <paramref name="root"/> is the application's configuration, when known.</summary>
    public static PhaseSource FromConfiguration(IConfiguration section, Func<IConfiguration?> root) => new(section, root);

    /// <summary>The text configured for the phase, or null when it is set in code or not at all.</summary>
    public string? RawValue => _section?[nameof(SessionStoreOptions.Phase)];

    /// <summary>The configuration provider that supplied the value in force, as it describes itself.</summary>
    public string Describe()
    {
        if (_section is null)
        {
            return "code (AddDualWriteSessionStore with an Action<SessionStoreOptions>)";
        }

        var key = _section is IConfigurationSection section ? $"{section.Path}:{nameof(SessionStoreOptions.Phase)}" : nameof(SessionStoreOptions.Phase);
        var root = _section as IConfigurationRoot ?? _root() as IConfigurationRoot;

        // The last provider that has the key wins, as in configuration itself.
        var provider = root?.Providers.Reverse().FirstOrDefault(p => p.TryGet(key, out _));
        return provider is null ? $"configuration key {key}" : $"configuration key {key} from {provider}";
    }
}
