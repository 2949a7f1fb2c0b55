using System.Text.RegularExpressions;

namespace DocsSnippets.Checking;

/// <summary>Finds the C# blocks of a markdown file and the snippet marker above each.</summary>
public static partial class MarkdownCodeBlockReader
{
    private static readonly string[] CSharpLanguages = ["csharp", "cs", "c#"];

    /// <summary>
    /// Every fenced block whose language is C#. A marker is <c>&lt;!-- snippet: name --&gt;</c> on the last non-blank
    /// line before the fence; a marker above any other block, or followed by text, is a problem.
    /// </summary>
    public static IReadOnlyList<MarkdownCodeBlock> Read(string file, string text, List<string> problems)
    {
        var lines = SnippetText.SplitLines(text);
        var blocks = new List<MarkdownCodeBlock>();
        (string Name, int Line)? marker = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var markerMatch = Marker().Match(lines[i]);
            if (markerMatch.Success)
            {
                ReportUnused(marker);
                marker = (markerMatch.Groups[1].Value, i + 1);
                continue;
            }

            var fence = FenceOpen().Match(lines[i]);
            if (!fence.Success)
            {
                if (lines[i].Trim().Length > 0)
                {
                    ReportUnused(marker);
                    marker = null;
                }

                continue;
            }

            var fenceText = fence.Groups[1].Value;
            var language = fence.Groups[2].Value.Trim();
            var close = Array.FindIndex(lines, i + 1, l => IsClosingFence(l, fenceText));
            var end = close < 0 ? lines.Length : close;
            if (CSharpLanguages.Contains(language, StringComparer.OrdinalIgnoreCase))
            {
                blocks.Add(new MarkdownCodeBlock(file, i + 1, marker?.Name, string.Join('\n', lines[(i + 1)..end]), i + 1, end - i - 1));
            }
            else
            {
                ReportUnused(marker);
            }

            marker = null;
            i = end;
        }

        ReportUnused(marker);
        return blocks;

        void ReportUnused((string Name, int Line)? unused)
        {
            if (unused is { } m)
            {
                problems.Add($"{file}:{m.Line}: marker 'snippet: {m.Name}' is not directly above a ```csharp block. Fix: move it to the line above the block, or delete it.");
            }
        }
    }

    private static bool IsClosingFence(string line, string fence)
    {
        var trimmed = line.Trim();
        return trimmed.Length >= fence.Length && trimmed.All(c => c == fence[0]);
    }

    [GeneratedRegex(@"^\s*<!--\s*snippet:\s*(\S+)\s*-->\s*$")]
    private static partial Regex Marker();

    [GeneratedRegex(@"^\s{0,3}(`{3,}|~{3,})(.*)$")]
    private static partial Regex FenceOpen();
}
