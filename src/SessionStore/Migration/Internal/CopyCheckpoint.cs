using System.Text.Json;

namespace SessionStore.Migration.Internal;

/// <summary>
/// Where a backfill or sync got to, in a small JSON file: the source's position after the last completed page
/// (a SCAN cursor per Redis primary, or the start of a PostgreSQL key — never a whole session id) and the counts so
/// far. Written after each completed page (to a temporary file, then renamed, so a crash never leaves half a file).
/// </summary>
internal sealed class CopyCheckpoint
{
    public string Source { get; set; } = "";

    public string Target { get; set; } = "";

    public string? Position { get; set; }

    /// <summary>The counts so far, carried into the summary of the run that resumes.</summary>
    public BackfillProgress Totals { get; set; } = new();

    public static CopyCheckpoint? Load(string path, string source, string target)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        CopyCheckpoint? checkpoint;
        try
        {
            checkpoint = JsonSerializer.Deserialize<CopyCheckpoint>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"The checkpoint file {path} cannot be read ({e.Message}). Delete it, or start over with Restart (--restart).", e);
        }

        if (checkpoint is null || checkpoint.Source != source || checkpoint.Target != target)
        {
            throw new InvalidOperationException(
                $"The checkpoint file {path} belongs to a copy from {checkpoint?.Source} to {checkpoint?.Target}, not from {source} to {target}. " +
                "Delete it, choose another checkpoint file, or start over with Restart (--restart).");
        }

        return checkpoint;
    }

    public async Task SaveAsync(string path, CancellationToken cancellationToken)
    {
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(this), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }
}
