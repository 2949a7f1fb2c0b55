using System.ComponentModel;
using System.Globalization;

namespace SessionStore.Internal;

/// <summary>
/// Reads a <see cref="SessionStorePhase"/> from configuration. A value that names no phase becomes
/// <see cref="SessionStorePhase.Unspecified"/> instead of an exception: a typo in a reloaded appsettings file must
/// not throw inside the configuration reload (and take the application down); start-up refuses it, and a
/// running application stays in its phase and logs the error.
/// </summary>
internal sealed class SessionStorePhaseConverter : EnumConverter
{
    private static readonly Dictionary<string, SessionStorePhase> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["redis-only"] = SessionStorePhase.RedisOnly,
        ["dual-redis-primary"] = SessionStorePhase.DualWriteRedisPrimary,
        ["dual-pg-primary"] = SessionStorePhase.DualWritePostgresPrimary,
        ["pg-only"] = SessionStorePhase.PostgresOnly,
    };

    public SessionStorePhaseConverter()
        : base(typeof(SessionStorePhase))
    {
    }

    /// <summary>The accepted values, for error messages.</summary>
    public static string ValidValues =>
        string.Join(", ", Enum.GetValues<SessionStorePhase>().Skip(1).Select(p => $"{p} ({Aliases.First(a => a.Value == p).Key})"));

    /// <summary>
    /// The phase <paramref name="value"/> names: a phase's name or alias, in any case. Anything else (a number, a
    /// comma-separated list, which <see cref="Enum.TryParse{TEnum}(string?, bool, out TEnum)"/> would combine into
    /// another phase) names none.
    /// </summary>
    public static SessionStorePhase Parse(string? value) =>
        value is null ? SessionStorePhase.Unspecified
        : Aliases.TryGetValue(value.Trim(), out var alias) ? alias
        : Enum.GetValues<SessionStorePhase>().FirstOrDefault(phase => string.Equals(phase.ToString(), value.Trim(), StringComparison.OrdinalIgnoreCase));

    public override object ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text ? Parse(text) : base.ConvertFrom(context, culture, value)!;
}
