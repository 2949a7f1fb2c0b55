using System.Text.RegularExpressions;

namespace DocsSnippets.Checking;

/// <summary>Reads the <c>#region name</c> … <c>#endregion</c> blocks of the snippet sources.</summary>
public static partial class CodeRegionReader
{
    /// <summary>
    /// The regions of every file, by name. A name may appear several times in one file (the <c>using</c> lines at
    /// its top, the statements in a method): the parts are joined in order. A name used in two files is a problem.
    /// </summary>
    public static IReadOnlyDictionary<string, CodeRegion> Read(IEnumerable<(string File, string Text)> sources, List<string> problems)
    {
        var regions = new Dictionary<string, CodeRegion>(StringComparer.Ordinal);
        foreach (var (file, text) in sources)
        {
            foreach (var region in ReadFile(file, text, problems))
            {
                if (regions.TryGetValue(region.Name, out var other))
                {
                    problems.Add($"{region.File}:{region.Line}: region '{region.Name}' is also defined in {other.File}:{other.Line}. "
                        + "Fix: give one of them another name (names are unique across the snippets project).");
                    continue;
                }

                regions.Add(region.Name, region);
            }
        }

        return regions;
    }

    private static IEnumerable<CodeRegion> ReadFile(string file, string text, List<string> problems)
    {
        var lines = SnippetText.SplitLines(text);
        var parts = new List<(string Name, int Line, string Text)>();
        string? open = null;
        var openLine = 0;
        var body = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var start = RegionStart().Match(lines[i]);
            if (start.Success)
            {
                if (open is not null)
                {
                    problems.Add($"{file}:{i + 1}: region '{start.Groups[1].Value}' opens inside region '{open}'. Fix: close '{open}' first (snippet regions do not nest).");
                }

                open = start.Groups[1].Value;
                openLine = i + 1;
                body.Clear();
            }
            else if (RegionEnd().IsMatch(lines[i]) && open is not null)
            {
                parts.Add((open, openLine, SnippetText.Dedent(body)));
                open = null;
            }
            else if (open is not null)
            {
                body.Add(lines[i]);
            }
        }

        if (open is not null)
        {
            problems.Add($"{file}:{openLine}: region '{open}' has no #endregion. Fix: close it.");
        }

        return parts
            .GroupBy(p => p.Name, StringComparer.Ordinal)
            .Select(g => new CodeRegion(g.Key, file, g.First().Line, string.Join("\n\n", g.Select(p => p.Text))));
    }

    [GeneratedRegex(@"^\s*#region\s+(\S+)\s*$")]
    private static partial Regex RegionStart();

    [GeneratedRegex(@"^\s*#endregion\b")]
    private static partial Regex RegionEnd();
}
