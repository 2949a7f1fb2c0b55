namespace DocsSnippets.Checking;

/// <summary>The compiled code of one snippet: every <c>#region name</c> of that name in one file, joined.</summary>
/// <param name="Name">The region's name, which a markdown marker refers to.</param>
/// <param name="File">The file, relative to the repository root.</param>
/// <param name="Line">The 1-based line of its first <c>#region</c>.</param>
/// <param name="Text">The regions' lines without their common indentation, parts separated by a blank line.</param>
public sealed record CodeRegion(string Name, string File, int Line, string Text);
