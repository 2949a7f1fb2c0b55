using System.Text.RegularExpressions;

namespace DocsSnippets.Checking;

/// <summary>How two snippet texts are compared and how compiled lines become doc lines.</summary>
public static partial class SnippetText
{
    /// <summary>
    /// The text with indentation, trailing spaces, runs of spaces and blank lines ignored: what a reader would call
    /// the same code.
    /// </summary>
    public static string Normalise(string text) =>
        string.Join('\n', SplitLines(text)
            .Select(line => Spaces().Replace(line.Trim(), " "))
            .Where(line => line.Length > 0));

    /// <summary>Removes the indentation the lines share (a region inside a method is indented; the doc is not).</summary>
    public static string Dedent(IReadOnlyList<string> lines)
    {
        var trimmed = lines.Select(l => l.TrimEnd()).ToList();
        while (trimmed.Count > 0 && trimmed[0].Length == 0)
        {
            trimmed.RemoveAt(0);
        }

        while (trimmed.Count > 0 && trimmed[^1].Length == 0)
        {
            trimmed.RemoveAt(trimmed.Count - 1);
        }

        var indent = trimmed.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', trimmed.Select(l => l.Length >= indent ? l[indent..] : l));
    }

    /// <summary>Splits on any line ending.</summary>
    public static string[] SplitLines(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');

    /// <summary>The first line where two texts differ after <see cref="Normalise"/>, for an error message.</summary>
    public static string FirstDifference(string docs, string code)
    {
        var a = SplitLines(Normalise(docs));
        var b = SplitLines(Normalise(code));
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var left = i < a.Length ? a[i] : "(end of block)";
            var right = i < b.Length ? b[i] : "(end of region)";
            if (left != right)
            {
                return $"docs: {left}\n      code: {right}";
            }
        }

        return "(none)";
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
