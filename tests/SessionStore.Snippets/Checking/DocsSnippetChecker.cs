namespace DocsSnippets.Checking;

/// <summary>
/// Keeps the C# blocks of the docs and the compiled regions of this project the same. Each ```csharp block in
/// README.md, src/*/PACKAGE.md and docs/**/*.md carries a <c>&lt;!-- snippet: name --&gt;</c> marker naming a
/// <c>#region name</c> under tests/SessionStore.Snippets/Snippets; the two must read the same (whitespace aside).
/// </summary>
public static class DocsSnippetChecker
{
    /// <summary>Where the compiled snippets live, relative to the repository root.</summary>
    public const string SnippetsFolder = "tests/SessionStore.Snippets/Snippets";

    /// <summary>The markdown files whose C# blocks must be compiled snippets, relative to the repository root.</summary>
    public static IEnumerable<string> DocumentFiles(string root)
    {
        var files = new List<string> { Path.Combine(root, "README.md") };
        files.AddRange(Directory.EnumerateDirectories(Path.Combine(root, "src"))
            .Select(project => Path.Combine(project, "PACKAGE.md"))
            .Where(File.Exists));
        files.AddRange(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories));
        return files.Select(f => Relative(root, f)).Order(StringComparer.Ordinal);
    }

    /// <summary>
    /// Every disagreement between docs and regions, each naming file, line and fix. With <paramref name="rewrite"/>,
    /// blocks that differ from their region are first rewritten from it (the code is the source of truth).
    /// </summary>
    public static IReadOnlyList<string> Check(string root, bool rewrite)
    {
        var problems = new List<string>();
        var sources = Directory.EnumerateFiles(Path.Combine(root, SnippetsFolder), "*.cs", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(f => (Relative(root, f), File.ReadAllText(f)));
        var regions = CodeRegionReader.Read(sources, problems);
        var used = new HashSet<string>(StringComparer.Ordinal);

        foreach (var file in DocumentFiles(root))
        {
            var path = Path.Combine(root, file);
            var lines = SnippetText.SplitLines(File.ReadAllText(path)).ToList();
            var blocks = MarkdownCodeBlockReader.Read(file, string.Join('\n', lines), problems);
            var rewritten = false;
            foreach (var block in blocks.Reverse())
            {
                if (block.SnippetName is null)
                {
                    problems.Add($"{file}:{block.FenceLine}: this ```csharp block has no snippet marker. Fix: copy it into a "
                        + $"#region in a file under {SnippetsFolder} (in a method if it is Program.cs-style, with its using lines in a "
                        + "region of the same name at the top of that file), make it compile, and put "
                        + $"'<!-- snippet: {SuggestName(file, block)} -->' on the line above the block.");
                    continue;
                }

                used.Add(block.SnippetName);
                if (!regions.TryGetValue(block.SnippetName, out var region))
                {
                    problems.Add($"{file}:{block.FenceLine}: marker 'snippet: {block.SnippetName}' names no region. Fix: add "
                        + $"'#region {block.SnippetName}' … '#endregion' with this code to a file under {SnippetsFolder}, or correct the name.");
                    continue;
                }

                if (SnippetText.Normalise(block.Text) == SnippetText.Normalise(region.Text))
                {
                    continue;
                }

                if (rewrite)
                {
                    var indent = lines[block.FenceLine - 1][..(lines[block.FenceLine - 1].Length - lines[block.FenceLine - 1].TrimStart().Length)];
                    lines.RemoveRange(block.FirstLineIndex, block.LineCount);
                    lines.InsertRange(block.FirstLineIndex, SnippetText.SplitLines(region.Text).Select(l => l.Length == 0 ? l : indent + l));
                    rewritten = true;
                    continue;
                }

                problems.Add($"{file}:{block.FenceLine}: block 'snippet: {block.SnippetName}' differs from its region at {region.File}:{region.Line}.\n"
                    + $"      {SnippetText.FirstDifference(block.Text, region.Text)}\n"
                    + "      Fix: change the region (it is what compiles) and run scripts/update-snippets to copy it into the docs, "
                    + "or change the region to what the docs say.");
            }

            if (rewritten)
            {
                File.WriteAllText(path, string.Join('\n', lines));
            }
        }

        foreach (var region in regions.Values.Where(r => !used.Contains(r.Name)))
        {
            problems.Add($"{region.File}:{region.Line}: region '{region.Name}' is shown in no doc. Fix: add "
                + $"'<!-- snippet: {region.Name} -->' above its ```csharp block in the doc, or delete the region.");
        }

        return problems;
    }

    private static string SuggestName(string file, MarkdownCodeBlock block) =>
        $"{Path.GetFileNameWithoutExtension(file).ToLowerInvariant()}-line-{block.FenceLine}";

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
