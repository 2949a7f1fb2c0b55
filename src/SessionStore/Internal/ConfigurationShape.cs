using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace SessionStore.Internal;

/// <summary>
/// Finds configuration the binder would ignore in silence, leaving a default in force: a misspelt key, a value
/// where a section belongs (<c>"Postgres": "Host=…"</c>) and a section or list where one value belongs; a null
/// where a number, a flag or a choice belongs, which it would quietly turn into 0, false or the first choice; and a
/// number or a list where a choice belongs, which it would turn into some choice.
/// </summary>
/// <remarks>
/// The binder's own <c>ErrorOnUnknownConfiguration</c> reports only the first kind, and names a class instead of the
/// key. Values are never quoted, but a choice's: a section given a value may have been given a connection string with its password.
/// </remarks>
internal static class ConfigurationShape
{
    /// <summary>The first key under <paramref name="section"/> that binds to nothing in <paramref name="type"/>, as a message; null when every key binds.</summary>
    /// <param name="section">The configuration to check.</param>
    /// <param name="type">The options type it is bound to.</param>
    /// <param name="path">The section's key, to name keys in the message.</param>
    /// <param name="boundElsewhere">Subsections bound to other options types, by name.</param>
    public static string? FindUnboundKey(IConfiguration section, Type type, string path, IReadOnlyDictionary<string, Type>? boundElsewhere = null)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => Configurable(p.PropertyType) && (p.SetMethod?.IsPublic == true || IsSection(p.PropertyType)))
            .ToList();
        var settings = properties.ToDictionary(p => p.Name, p => p.PropertyType, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, subsection) in boundElsewhere ?? new Dictionary<string, Type>())
        {
            settings[name] = subsection;
        }

        foreach (var child in section.GetChildren())
        {
            var key = $"{path}:{child.Key}";
            var hasChildren = child.GetChildren().Any();
            if (!settings.TryGetValue(child.Key, out var settingType))
            {
                // An empty key (JSON null, a template's placeholder) sets nothing, whatever it names.
                if (string.IsNullOrEmpty(child.Value) && !hasChildren)
                {
                    continue;
                }

                return settings.Count == 0
                    ? $"{key} is not a setting, so it would be ignored; {path} takes no keys."
                    : $"{key} is not a setting, so it would be ignored; the settings under {path} are {string.Join(", ", settings.Keys.Order(StringComparer.Ordinal))}.";
            }

            var takesValue = !IsSection(settingType);
            if (takesValue && hasChildren)
            {
                return $"{key} holds a section or a list, but it takes one value.";
            }

            // The binder sets a null (JSON null) as the type's default: 0, false, the first enum member. A CatchUpCapacity
            // or ComparisonSampleRate of 0 switches the catch-up or the comparisons off. Where that is the setting's own
            // default (a flag off by default, Phase), the null changes nothing.
            if (takesValue && child.Value is null && settingType.IsValueType && Nullable.GetUnderlyingType(settingType) is null
                && Activator.CreateInstance(settingType) is var zero && !(TryGetDeclaredDefault(type, properties, child.Key, out var declared) && Equals(zero, declared)))
            {
                return $"{key} is null, which would set it to {zero}: give it a value, or remove the key to keep its default.";
            }

            if (takesValue && !string.IsNullOrWhiteSpace(child.Value) && ChoicesNotNamed(settingType, child.Value) is { } choices)
            {
                return $"{key} is '{child.Value}', which names none of its choices: {choices}.";
            }

            // A section whose absence switches a feature off (Partitioning): an empty one, as JSON {} or null or an
            // environment variable set to nothing, binds to nothing and leaves it off, though {} reads as "on, with the defaults".
            if (!takesValue && !hasChildren && string.IsNullOrEmpty(child.Value) && TryGetDeclaredDefault(type, properties, child.Key, out var unset) && unset is null)
            {
                return $"{key} is empty, which would leave it unset (off): set one of its keys ({SettingNames(settingType)}), or remove the key.";
            }

            if (!takesValue && !string.IsNullOrEmpty(child.Value))
            {
                return SectionGivenValue(key, settingType);
            }

            if (!takesValue && FindUnboundKey(child, settingType, key) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }

    /// <summary>The message for a value given where the section <paramref name="key"/>, bound to <paramref name="type"/>, belongs.</summary>
    public static string SectionGivenValue(string key, Type type) =>
        $"{key} holds a value, but it is a section: set its keys instead{FirstSetting(type, key)}.";

    // The value a new instance holds; false when that cannot be known (a subsection bound elsewhere, made with arguments).
    private static bool TryGetDeclaredDefault(Type type, List<PropertyInfo> properties, string key, out object? value)
    {
        value = null;
        if (type.GetConstructor(Type.EmptyTypes) is null || properties.Find(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase)) is not { } property)
        {
            return false;
        }

        value = property.GetValue(Activator.CreateInstance(type));
        return true;
    }

    private static string SettingNames(Type type) => string.Join(", ", Settable(type).Select(p => p.Name).Order(StringComparer.Ordinal));

    // What configuration can set on a type: its properties with a public setter, in declaration order.
    private static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true);

    // The binder reads a choice with Enum.Parse, which also takes a number ("1": the second choice, or one no name has)
    // and a comma-separated list ("ServerSetting,Off": their bits combined). Only a name is a choice. A choice type with
    // a converter of its own (the phase, with its aliases) reads its values itself. Null when the value names a choice.
    private static string? ChoicesNotNamed(Type type, string value)
    {
        var choice = Nullable.GetUnderlyingType(type) ?? type;
        if (!choice.IsEnum || System.ComponentModel.TypeDescriptor.GetConverter(choice).GetType() != typeof(System.ComponentModel.EnumConverter))
        {
            return null;
        }

        var names = Enum.GetNames(choice);
        return names.Any(name => string.Equals(name, value.Trim(), StringComparison.OrdinalIgnoreCase)) ? null : string.Join(", ", names);
    }

    // Delegates and abstract types (a data source, a callback) are set in code only.
    private static bool Configurable(Type type) => !type.IsAbstract && !typeof(Delegate).IsAssignableFrom(type);

    // A class the binder fills key by key; what a type converter reads from a string (a number, a Version, a Uri)
    // takes one value, as the binder sees it.
    private static bool IsSection(Type type) =>
        type.IsClass && !System.ComponentModel.TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    private static string FirstSetting(Type type, string key) =>
        Settable(type).FirstOrDefault() is { } first
            ? $", such as {key}:{first.Name}"
            : "";
}
