using System.Text.Json;

namespace SessionStore.Migration.Internal;

/// <summary>
/// Where a backfill or sync got to, in a small JSON file: the source's position after the last completed page
/// (a SCAN cursor per Redis primary, or the start of a PostgreSQL key — never a whole session id), the pass it is
/// in with the topology that pass started on, and the counts so far. Written after each completed page (to a
/// temporary file, then renamed, so a crash never leaves half a file).
/// </summary>
internal sealed class CopyCheckpoint
{
    /// <summary>
    /// 2 since the source is named by its configured endpoints, sorted; absent (0) in files written before, which
    /// named a Redis source by every node discovered, in an order that varies on a cluster.
    /// </summary>
    public const int CurrentFormat = 2;

    public int Format { get; set; }

    public string Source { get; set; } = "";

    public string Target { get; set; } = "";

    public string? Position { get; set; }

    /// <summary>The pass in progress, from 1: a pass lists the whole source; another follows when the topology moved.</summary>
    public int Pass { get; set; } = 1;

    /// <summary>The source's topology when the pass in progress started; null in files written before format 2.</summary>
    public string? PassTopology { get; set; }

    /// <summary>Whether an earlier pass saw the topology change.</summary>
    public bool TopologyChanged { get; set; }

    /// <summary>The counts so far, carried into the summary of the run that resumes.</summary>
    public BackfillProgress Totals { get; set; } = new();

    public static CopyCheckpoint? Load(string path, ICopySource source, ICopyTarget target)
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

        if (checkpoint is null)
        {
            throw new InvalidOperationException($"The checkpoint file {path} is empty. Delete it, or start over with Restart (--restart).");
        }

        if (checkpoint.Format > CurrentFormat)
        {
            throw new InvalidOperationException(
                $"The checkpoint file {path} was written by a newer SessionStore (format {checkpoint.Format}; this one reads up to {CurrentFormat}). " +
                "Resume with that version, or start over with Restart (--restart).");
        }

        var legacy = checkpoint.Format < CurrentFormat;
        var sameSource = checkpoint.Source == source.Description || (legacy && source.IsLegacyDescription(checkpoint.Source));
        var sameTarget = checkpoint.Target == target.Description || (legacy && target.IsLegacyDescription(checkpoint.Target));
        if (!sameSource || !sameTarget)
        {
            throw new InvalidOperationException(
                $"The checkpoint file {path} belongs to a copy from {checkpoint.Source} to {checkpoint.Target}, not from {source.Description} to {target.Description}" +
                (legacy ? " (it was written by an older SessionStore, which named a Redis Cluster by its nodes in discovery order)" : "") + ". " +
                "Delete it, choose another checkpoint file, or start over with Restart (--restart).");
        }

        if (checkpoint.Position is { } position && !source.CanResumeFrom(position))
        {
            throw new InvalidOperationException($"The checkpoint file {path} holds a position in {source.Description} this copy cannot resume from (edited or damaged). Delete it, or start over with Restart (--restart).");
        }

        // From here on the file speaks the current format, under the names this run uses.
        checkpoint.Format = CurrentFormat;
        checkpoint.Source = source.Description;
        checkpoint.Target = target.Description;
        return checkpoint;
    }

    public async Task SaveAsync(string path, CancellationToken cancellationToken)
    {
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(this), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }
}
