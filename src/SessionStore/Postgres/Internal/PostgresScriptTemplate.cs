using System.Text.RegularExpressions;

namespace SessionStore.Postgres.Internal;

/// <summary>
/// Fills the <c>{{name}}</c> placeholders of a schema script in one pass over the script. Text put in is never
/// read again, so a value that happens to hold placeholder syntax stays what it is: one quoted identifier.
/// </summary>
internal static partial class PostgresScriptTemplate
{
    /// <summary>Renders <paramref name="script"/>; a placeholder with no value is a bug in a shipped script and throws.</summary>
    /// <param name="script">The script, with placeholders such as <c>{{table}}</c>.</param>
    /// <param name="values">Each placeholder's replacement: a quoted identifier, or a keyword this code chose.</param>
    public static string Render(string script, IReadOnlyDictionary<string, string> values)
    {
        var rendered = Placeholder().Replace(script, match => values.TryGetValue(match.Groups[1].Value, out var value)
            ? value
            : throw new InvalidOperationException(
                $"The schema script uses the placeholder {match.Value}, which has no value; known placeholders: {string.Join(", ", values.Keys.Order(StringComparer.Ordinal))}."));

        // The scripts tell their readers about the placeholders; the rendered SQL has none left to tell about.
        return EmptyComment().Replace(TemplateNote().Replace(rendered, ""), "");
    }

    /// <summary>
    /// Where <paramref name="script"/> creates the relation <c>{{placeholder}}</c> (its <c>CREATE … IF NOT EXISTS</c>
    /// statement, up to its semicolon), or null when it does not.
    /// </summary>
    public static (int Position, string Statement)? StatementCreating(string script, string placeholder)
    {
        var match = Regex.Match(script, $@"^CREATE (?:TABLE|INDEX) IF NOT EXISTS \{{\{{{Regex.Escape(placeholder)}\}}\}}[^;]*;", RegexOptions.Multiline | RegexOptions.CultureInvariant);
        return match.Success ? (match.Index, match.Value) : null;
    }

    [GeneratedRegex(@"\{\{([A-Za-z0-9_]+)\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"[ \t]*Placeholders in double braces are replaced by(?:\s|--)+quoted identifiers before the script runs\.", RegexOptions.CultureInvariant)]
    private static partial Regex TemplateNote();

    [GeneratedRegex(@"^--[ \t]*\r?\n", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex EmptyComment();
}
