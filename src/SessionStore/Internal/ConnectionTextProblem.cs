using System.Text.RegularExpressions;

namespace SessionStore.Internal;

/// <summary>
/// Why a driver could not read a connection string, in words that show none of it. The drivers' own messages quote
/// what they could not read: an unknown keyword, which may be the part of a password after an unquoted separator
/// (<c>Password=ab;cd</c> makes a keyword "cd"), or a value (StackExchange.Redis: "the value 'x' is not recognised").
/// </summary>
internal static class ConnectionTextProblem
{
    /// <summary>The message for the item of <paramref name="text"/> whose keyword a driver rejected.</summary>
    /// <param name="setting">The option holding the text, such as <c>ConnectionString</c>.</param>
    /// <param name="text">The connection text, searched for the item's position only.</param>
    /// <param name="separator">What separates its items: ';' or ','.</param>
    /// <param name="keyword">The keyword the driver rejected (its exception's <see cref="ArgumentException.ParamName"/>).</param>
    /// <param name="known">Whether the driver knows the keyword: then its value was rejected, and the keyword can be shown.</param>
    public static string Describe(string setting, string text, char separator, string keyword, bool known)
    {
        if (known)
        {
            return $"{setting} cannot be read: {keyword} is given a value it does not take (the value is not shown).";
        }

        var items = text.Split(separator);
        var position = Array.FindIndex(items, item => string.Equals(item.Split('=')[0].Trim(), keyword.Trim(), StringComparison.OrdinalIgnoreCase));
        var item = position < 0 ? "an item" : $"item {position + 1} (counting from 1, split at '{separator}')";
        return $"{setting} cannot be read: {item} names no setting the driver knows. The item is not shown: it may be a typo, or the " +
            $"rest of a value holding '{separator}', such as a password, which must then be quoted.";
    }

    /// <summary>
    /// Whether <paramref name="message"/> holds one of <paramref name="values"/> as a whole word (case ignored): a
    /// driver's message that does is not shown. A whole word, so that a host "h" does not hide every message with an h.
    /// </summary>
    public static bool Quotes(string message, IEnumerable<string?> values) =>
        values.Any(value => !string.IsNullOrEmpty(value) &&
            Regex.IsMatch(message, $@"(?<![\p{{L}}\p{{N}}]){Regex.Escape(value)}(?![\p{{L}}\p{{N}}])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant));
}
