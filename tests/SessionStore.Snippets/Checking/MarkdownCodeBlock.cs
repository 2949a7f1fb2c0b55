namespace DocsSnippets.Checking;

/// <summary>A fenced C# block in a markdown file, with the snippet marker above it if there is one.</summary>
/// <param name="File">The markdown file, relative to the repository root.</param>
/// <param name="FenceLine">The 1-based line of the opening fence.</param>
/// <param name="SnippetName">The name in the <c>&lt;!-- snippet: name --&gt;</c> marker above the fence, or null.</param>
/// <param name="Text">The block's lines, without the fences.</param>
/// <param name="FirstLineIndex">The 0-based index of the block's first line (after the opening fence).</param>
/// <param name="LineCount">How many lines the block has between its fences.</param>
public sealed record MarkdownCodeBlock(string File, int FenceLine, string? SnippetName, string Text, int FirstLineIndex, int LineCount);
