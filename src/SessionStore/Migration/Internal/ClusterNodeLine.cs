using System.Globalization;

namespace SessionStore.Migration.Internal;

/// <summary>
/// One line of <c>CLUSTER NODES</c>: <c>id address flags primary-id ping pong config-epoch link slot…</c>, where a
/// slot is <c>n</c>, <c>from-to</c>, or <c>[n-&gt;-id]</c> / <c>[n-&lt;-id]</c> while it migrates (shown only by
/// the two nodes involved, which is why every node is asked about itself).
/// </summary>
internal sealed record ClusterNodeLine(string Id, bool IsMyself, bool IsPrimary, string PrimaryId, long ConfigEpoch, IReadOnlyList<string> Slots)
{
    /// <summary>A slot of this node is being moved to or from another node: its keys are on both.</summary>
    public bool Migrating => Slots.Any(slot => slot.StartsWith('['));

    public bool ServesSlots => Slots.Any(slot => !slot.StartsWith('['));

    /// <summary>The fields that change when slots move or a replica takes over; not the ping times or link state.</summary>
    public string Normalized => $"{Id} {(IsPrimary ? "primary" : "replica")} {PrimaryId} {ConfigEpoch.ToString(CultureInfo.InvariantCulture)} {string.Join(' ', Slots)}";

    public static List<ClusterNodeLine> ParseAll(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Parse)
            .OfType<ClusterNodeLine>()
            .ToList();

    /// <summary>Null for a line that is not a node (fewer than the eight fixed fields).</summary>
    public static ClusterNodeLine? Parse(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 8)
        {
            return null;
        }

        var flags = fields[2].Split(',');
        return new ClusterNodeLine(
            fields[0],
            flags.Contains("myself"),
            flags.Contains("master"),
            fields[3],
            long.TryParse(fields[6], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch) ? epoch : -1,
            fields[8..]);
    }
}
