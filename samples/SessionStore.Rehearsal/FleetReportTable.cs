using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SessionStore.Rehearsal;

/// <summary>The fleet rehearsal's result as a table, one row a stage with the fleet view captured in it, and a one-line verdict.</summary>
internal static class FleetReportTable
{
    public static IRenderable Render(FleetRehearsalReport report)
    {
        var instances = report.Stages.Count == 0 ? [] : report.Stages[0].FleetView.Select(i => i.Instance).ToList();
        var table = new Table()
            .Title($"[bold]{report.Instances} instances, {report.Sessions:N0} sessions ({report.SeededSessions:N0} seeded through RedisCache), rolled one instance at a time[/]")
            .Caption("[grey]Instance columns: the fleet view (each instance's phase in the fleet table, as sessionstore status shows it), read after the switch; the switched instance in bold.[/]")
            .AddColumn("#")
            .AddColumn("Step");
        foreach (var instance in instances)
        {
            table.AddColumn(instance);
        }

        table
            .AddColumn("Mixed")
            .AddColumn(new TableColumn("Requests").RightAligned())
            .AddColumn(new TableColumn("Failed").RightAligned())
            .AddColumn(new TableColumn("Lost").RightAligned())
            .AddColumn(new TableColumn("Mismatches\nrepaired").RightAligned())
            .AddColumn(new TableColumn("Read-\nrepairs").RightAligned());
        foreach (var stage in report.Stages)
        {
            var phases = instances.Select(instance =>
            {
                var name = ShortName(stage.FleetView.FirstOrDefault(i => i.Instance == instance).Phase);
                return instance == stage.Switched ? $"[bold]{name}[/]" : name;
            });
            table.AddRow(
            [
                Text(stage.Stage),
                stage.Step == 0 ? "start" : Text(stage.Step),
                .. phases,
                stage.Mixed ? "yes" : "",
                Text(stage.Requests),
                Alarm(stage.FailedRequests),
                Alarm(stage.SessionsLost),
                Text(stage.Mismatches),
                Text(stage.ReadRepairs),
            ]);
        }

        return table;
    }

    public static string Verdict(FleetRehearsalReport report)
    {
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"{report.Instances} instances, {report.Sessions:N0} sessions, {report.Stages.Sum(stage => stage.Requests):N0} requests, {report.Stages.Count(stage => stage.Mixed)} of {report.Stages.Count} stages with mixed phases, {report.Elapsed.TotalSeconds:N0} s");
        return report.Passed
            ? $"[bold green]Verdict: PASS[/] — no session lost, every request answered ({summary})."
            : $"[bold red]Verdict: FAIL[/] — {report.SessionsLost} session(s) lost, {report.FailedRequests} request(s) failed ({summary}).";
    }

    /// <summary>The article's short names, which the configuration accepts as well.</summary>
    private static string ShortName(SessionStorePhase phase) => phase switch
    {
        SessionStorePhase.RedisOnly => "redis-only",
        SessionStorePhase.DualWriteRedisPrimary => "dual-redis-primary",
        SessionStorePhase.DualWritePostgresPrimary => "dual-pg-primary",
        SessionStorePhase.PostgresOnly => "pg-only",
        _ => phase.ToString(),
    };

    private static string Text(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Alarm(long value) => value == 0 ? "0" : $"[bold red]{Text(value)}[/]";
}
