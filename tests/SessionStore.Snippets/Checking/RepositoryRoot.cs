namespace DocsSnippets.Checking;

/// <summary>The checkout this test runs from: the nearest folder above the test binaries with SessionStore.sln.</summary>
public static class RepositoryRoot
{
    /// <summary>The repository root.</summary>
    public static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "SessionStore.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No SessionStore.sln above {AppContext.BaseDirectory}.");
    }
}
