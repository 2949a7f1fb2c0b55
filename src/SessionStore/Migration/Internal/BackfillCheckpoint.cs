using System.Text.Json;

namespace SessionStore.Migration.Internal;

/// <summary>
/// Where a backfill got to, in a small JSON file: the SCAN cursor of the primary being scanned, the primaries
/// finished and the counts so far. Written after each completed batch (to a temporary file, then renamed, so a
/// crash never leaves half a file).
/// </summary>
internal sealed class BackfillCheckpoint
{
    public string Source { get; set; } = "";

    public string Target { get; set; } = "";

    public List<string> FinishedServers { get; set; } = [];

    public string? Server { get; set; }

    public long Cursor { get; set; }

    /// <summary>The counts so far, carried into the summary of the run that resumes.</summary>
    public BackfillProgress Totals { get; set; } = new();

    public static BackfillCheckpoint? Load(string path, string source, string target)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var checkpoint = JsonSerializer.Deserialize<BackfillCheckpoint>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"The checkpoint file {path} is empty.");
        if (checkpoint.Source != source || checkpoint.Target != target)
        {
            throw new InvalidOperationException(
                $"The checkpoint file {path} belongs to a backfill from {checkpoint.Source} to {checkpoint.Target}, not from {source} to {target}. " +
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
