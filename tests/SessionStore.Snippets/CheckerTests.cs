using DocsSnippets.Checking;

namespace DocsSnippets;

/// <summary>The checker finds what it must: unmarked blocks, stray markers, split regions, differences.</summary>
public sealed class CheckerTests
{
    [Fact]
    public void A_csharp_block_without_a_marker_is_found_and_a_marked_one_carries_its_name()
    {
        var problems = new List<string>();
        var blocks = MarkdownCodeBlockReader.Read("x.md", "text\n\n```csharp\nvar a = 1;\n```\n\n<!-- snippet: b -->\n```cs\nvar b = 2;\n```\n", problems);

        Assert.Empty(problems);
        Assert.Equal([(3, null), (8, "b")], blocks.Select(b => (b.FenceLine, b.SnippetName)));
        Assert.Equal("var b = 2;", blocks[1].Text);
    }

    [Fact]
    public void A_marker_above_a_block_of_another_language_or_above_text_is_a_problem()
    {
        var problems = new List<string>();
        MarkdownCodeBlockReader.Read("x.md", "<!-- snippet: a -->\n```json\n{}\n```\n<!-- snippet: b -->\nprose\n", problems);

        Assert.Equal(2, problems.Count);
        Assert.StartsWith("x.md:1:", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("x.md:5:", problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_csharp_fence_inside_a_longer_fence_is_not_a_block()
    {
        var problems = new List<string>();
        var blocks = MarkdownCodeBlockReader.Read("x.md", "````markdown\n```csharp\nvar a = 1;\n```\n````\n", problems);

        Assert.Empty(blocks);
        Assert.Empty(problems);
    }

    [Fact]
    public void Regions_of_one_name_in_a_file_are_joined_and_dedented()
    {
        const string source = "#region s\nusing A;\n#endregion\nclass C\n{\n    void M()\n    {\n        #region s\n        var x = 1;\n          x++;\n        #endregion\n    }\n}\n";
        var problems = new List<string>();
        var regions = CodeRegionReader.Read([("f.cs", source)], problems);

        Assert.Empty(problems);
        Assert.Equal("using A;\n\nvar x = 1;\n  x++;", regions["s"].Text);
    }

    [Fact]
    public void The_same_region_name_in_two_files_is_a_problem()
    {
        var problems = new List<string>();
        CodeRegionReader.Read([("a.cs", "#region s\nx\n#endregion\n"), ("b.cs", "#region s\ny\n#endregion\n")], problems);

        Assert.Single(problems);
        Assert.Contains("a.cs", problems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Comparison_ignores_indentation_blank_lines_and_runs_of_spaces_but_not_code()
    {
        Assert.Equal(SnippetText.Normalise("  a  =  1;\n\n b();"), SnippetText.Normalise("a = 1;\nb();\n"));
        Assert.NotEqual(SnippetText.Normalise("a = 1;"), SnippetText.Normalise("a = 2;"));
    }
}
