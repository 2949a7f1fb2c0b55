using DocsSnippets.Checking;

namespace DocsSnippets;

/// <summary>
/// Every C# block in the docs is code this project compiles. With SESSIONSTORE_UPDATE_SNIPPETS=1
/// (scripts/update-snippets) the blocks are first rewritten from their regions.
/// </summary>
public sealed class DocsSnippetTests
{
    [Fact]
    public void Every_csharp_block_in_the_docs_is_a_compiled_region()
    {
        var rewrite = Environment.GetEnvironmentVariable("SESSIONSTORE_UPDATE_SNIPPETS") == "1";
        var problems = DocsSnippetChecker.Check(RepositoryRoot.Find(), rewrite);
        Assert.True(problems.Count == 0, $"{problems.Count} doc snippet problem(s):\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_documents_checked_include_the_readme_both_package_readmes_and_every_page_under_docs()
    {
        var root = RepositoryRoot.Find();
        var files = DocsSnippetChecker.DocumentFiles(root).ToList();
        Assert.Contains("README.md", files);
        Assert.Contains("src/SessionStore/PACKAGE.md", files);
        Assert.Contains("src/SessionStore.Cli/PACKAGE.md", files);
        var docs = Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'));
        Assert.All(docs, doc => Assert.Contains(doc, files));
    }
}
