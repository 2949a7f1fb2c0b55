using System.Globalization;
using SessionStore.DualWrite;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SessionStore.Rehearsal;

/// <summary>The rehearsal's result as a table, one row a phase, and a one-line verdict.</summary>
internal static class ReportTable
{
    public static IRenderable Render(RehearsalReport report)
    {
        var table = new Table()
            .Title($"[bold]{report.Sessions:N0} sessions ({report.SeededSessions:N0} seeded through RedisCache) through {report.Phases.Count} phases[/]")
            .AddColumn("#")
            .AddColumn(new TableColumn("Phase").NoWrap())
            .AddColumn(new TableColumn("Requests").RightAligned())
            .AddColumn(new TableColumn("Lost").RightAligned())
            .AddColumn(new TableColumn("Failed").RightAligned())
            .AddColumn(new TableColumn("Mismatches\nmissing/value/expiry").RightAligned())
            .AddColumn(new TableColumn("Compared\nverdict/in flux").RightAligned())
            .AddColumn(new TableColumn("Read-\nrepairs").RightAligned())
            .AddColumn(new TableColumn("Secondary\nfailures").RightAligned())
            .AddColumn(new TableColumn("Redis ms\np50 / p99").RightAligned())
            .AddColumn(new TableColumn("PostgreSQL ms\np50 / p99").RightAligned())
            .Caption(Legend);
        foreach (var phase in report.Phases)
        {
            table.AddRow(
                Text(phase.Step),
                phase.Phase.ToString(),
                Text(phase.Requests),
                Alarm(phase.SessionsLost),
                Alarm(phase.FailedRequests),
                string.Join('/', Enum.GetValues<SessionMismatchKind>().Select(kind => Text(phase.Mismatches.GetValueOrDefault(kind)))),
                $"{Text(phase.Compared)}/{Text(phase.ComparedInFlux)}",
                Text(phase.ReadRepairs),
                Text(phase.SecondaryFailures),
                Percentiles(phase.Latencies.GetValueOrDefault("redis")),
                Percentiles(phase.Latencies.GetValueOrDefault("postgresql")));
        }

        return table;
    }

    /// <summary>What the columns count, under the table: a reader of the demo sees no other docs.</summary>
    private const string Legend =
        "[grey]Lost: sessions found without the values put in them. Failed: requests not answered.\n"
        + "Mismatches: differences between the stores that a background comparison confirmed by reading both again:\n"
        + "missing (no copy in the secondary), value (the copies differ), expiry (lifetimes differ by more than ExpiryTolerance).\n"
        + "Compared: those comparisons that ended with a verdict (equal, or a mismatch) / without one, because a copy was\n"
        + "written meanwhile (in flux: the session's own writes carry it to both stores).\n"
        + "Read-repairs: sessions copied after a read, into the secondary where it had none (the seeded sessions reach\n"
        + "PostgreSQL this way in the first dual phase) or into the primary where a read missed but the secondary had it.\n"
        + "Secondary failures: calls to the secondary that failed or timed out; they never fail a request.\n"
        + "ms: each store's operation duration (db.client.operation.duration), p50 / p99.[/]";

    public static string Verdict(RehearsalReport report)
    {
        var requests = report.Phases.Sum(phase => phase.Requests);
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"{report.Sessions:N0} sessions, {requests:N0} requests, {report.Phases.Count} phases, {report.Elapsed.TotalSeconds:N0} s");
        return report.Passed
            ? $"[bold green]Verdict: PASS[/] — no session lost, every request answered ({summary})."
            : $"[bold red]Verdict: FAIL[/] — {report.SessionsLost} session(s) lost, {report.FailedRequests} request(s) failed ({summary}).";
    }

    private static string Text(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Alarm(long value) => value == 0 ? "0" : $"[bold red]{Text(value)}[/]";

    private static string Percentiles(Latency? latency) => latency is null
        ? "[grey]–[/]"
        : string.Create(CultureInfo.InvariantCulture, $"{latency.P50Milliseconds:0.00} / {latency.P99Milliseconds:0.00}");
}
