using System.Text;
using SessionStore.DualWrite;

namespace SessionStore.Sample;

/// <summary>The migration at a glance: the phase in force and the dual-write counters since start-up.</summary>
public static class StatusPage
{
    /// <summary>Writes the statistics as plain text, one figure a line.</summary>
    /// <param name="statistics">A snapshot from <see cref="DualWriteCache.GetStatistics"/>.</param>
    /// <returns>The page.</returns>
    public static string Render(DualWriteStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        var page = new StringBuilder()
            .Append("Phase:                   ").Append(statistics.Phase).AppendLine()
            .Append("Read-repairs:            ").Append(statistics.ReadRepairs).AppendLine()
            .Append("Secondary failures:      ").Append(statistics.SecondaryFailures).AppendLine()
            .Append("Primary read failovers:  ").Append(statistics.PrimaryReadFailovers).AppendLine()
            .AppendLine("Mismatches:");
        foreach (var (kind, count) in statistics.Mismatches)
        {
            page.Append("  ").Append($"{kind}:".PadRight(23)).Append(count).AppendLine();
        }

        return page.ToString();
    }
}
