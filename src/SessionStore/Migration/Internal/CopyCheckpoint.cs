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
    /// 3 since the file records the command that wrote it (<see cref="Kind"/>) and names a PostgreSQL table with its
    /// server and database. Files of an earlier format are refused: a backfill's file and a sync's looked alike, as
    /// did two databases' tables of the same name, and resuming the wrong one skipped sessions it had never listed.
    /// </summary>
    public const int CurrentFormat = 3;

    /// <summary>The <see cref="Kind"/> of a backfill's checkpoint: it fills only what the target lacks.</summary>
    public const string BackfillKind = "backfill";

    /// <summary>The <see cref="Kind"/> of a sync's checkpoint: it also replaces what the target holds older.</summary>
    public const string SyncKind = "sync";

    private const int MaximumBytes = 64 * 1024;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    public int Format { get; set; }

    /// <summary>
    /// The command that wrote the file: <see cref="BackfillKind"/> or <see cref="SyncKind"/>. In DualWriteRedisPrimary a
    /// backfill and a sync copy between the same stores, so only this tells their checkpoints apart; a sync resuming a
    /// backfill's position skipped every older copy the backfill had listed and left alone.
    /// </summary>
    public string? Kind { get; set; }

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

    public static async Task<CopyCheckpoint?> LoadAsync(string path, string kind, ICopySource source, ICopyTarget target, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        CopyCheckpoint? checkpoint;
        try
        {
            checkpoint = JsonSerializer.Deserialize<CopyCheckpoint>(await ReadAsync(path, cancellationToken).ConfigureAwait(false));
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

        if (checkpoint.Format < CurrentFormat)
        {
            throw new InvalidOperationException(
                $"The checkpoint file {path} was written by an older SessionStore (format {checkpoint.Format}), which recorded neither whether a backfill or a sync wrote it " +
                "nor the PostgreSQL server and database it copied with: resuming it could skip sessions. Start over with Restart (--restart), or delete it.");
        }

        if (checkpoint.Source != source.Description || checkpoint.Target != target.Description)
        {
            throw new InvalidOperationException(
                $"The checkpoint file {path} belongs to a copy from {checkpoint.Source} to {checkpoint.Target}, not from {source.Description} to {target.Description}. " +
                "Delete it, choose another checkpoint file, or start over with Restart (--restart).");
        }

        if (checkpoint.Kind != kind)
        {
            var writer = checkpoint.Kind is BackfillKind or SyncKind ? $"a {checkpoint.Kind}" : "an unknown command";
            var resume = checkpoint.Kind is BackfillKind or SyncKind ? $"Resume it with {checkpoint.Kind} (`sessionstore {checkpoint.Kind}`), choose" : "Choose";
            throw new InvalidOperationException(
                $"The checkpoint file {path} was written by {writer}, not a {kind}: its position would skip sessions this {kind} never looked at. " +
                $"{resume} another checkpoint file, or start over with Restart (--restart).");
        }

        if (checkpoint.Position is { } position && !source.CanResumeFrom(position))
        {
            throw new InvalidOperationException($"The checkpoint file {path} holds a position in {source.Description} this copy cannot resume from (edited or damaged). Delete it, or start over with Restart (--restart).");
        }

        return checkpoint;
    }

    /// <summary>
    /// The file's text, bounded in size and time: a checkpoint is a few hundred bytes, and a path that is no regular
    /// file (a named pipe, a device, a link to one) would block opening it, or never end.
    /// </summary>
    private static async Task<string> ReadAsync(string path, CancellationToken cancellationToken)
    {
        // Opening a pipe blocks its thread until a writer comes, whatever the token says: that thread is left behind.
        var reading = Task.Run(() => ReadBounded(path), CancellationToken.None);
        try
        {
            return await reading.WaitAsync(ReadTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException(
                $"The checkpoint file {path} could not be read within {ReadTimeout.TotalSeconds:0} s: it is not a regular file (a named pipe or a device?). Choose another checkpoint file.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"The checkpoint file {path} cannot be read ({e.Message}). Choose another checkpoint file, or delete it and start over with Restart (--restart).", e);
        }
    }

    private static string ReadBounded(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
        var buffer = new byte[MaximumBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
        {
            length += read;
        }

        return length <= MaximumBytes
            ? System.Text.Encoding.UTF8.GetString(buffer, 0, length)
            : throw new InvalidOperationException($"The checkpoint file {path} holds more than {MaximumBytes / 1024} KiB: it is not a checkpoint. Choose another checkpoint file.");
    }

    public async Task SaveAsync(string path, CancellationToken cancellationToken)
    {
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(this), cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }
}
