using System.CommandLine;
using System.Globalization;
using SessionStore.Cli.Output;
using SessionStore.Fleet;
using Spectre.Console;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore status</c>: the application instances, the phase each runs and its last heartbeat; exit 1 when live ones are more than one step apart.</summary>
internal static class StatusCommand
{
    public static Command Create(CommandContext context)
    {
        var staleAfter = new Option<TimeSpan>("--stale-after")
        {
            Description = "A heartbeat older than this marks its instance stale (gone), as SessionStore:Fleet:StaleAfter does in the application (default 00:01:00).",
            DefaultValueFactory = _ => new SessionStoreFleetOptions().StaleAfter,
        };
        staleAfter.RefuseBareNumber("00:01:00 for one minute");
        staleAfter.Refuse(value => value <= TimeSpan.Zero ? $"--stale-after is {value}; it must be more than 0, e.g. 00:01:00." : null);
        var output = CliOutput.CreateOption();
        var command = new Command("status", "Show the application instances of the fleet: the phase each runs and its last heartbeat, stale ones marked.") { staleAfter, output };
        context.SetAction(command, async (parse, token) =>
        {
            var options = context.Options(parse).Postgres;
            CommandContext.ThrowIfInvalid(CommandContext.PostgresFailures(options, "the fleet table lives beside the session table; "));
            var instances = await SessionStoreFleet.ReadAsync(options, parse.GetValue(staleAfter), token).ConfigureAwait(false);
            var console = context.Console;
            var live = instances.Where(i => !i.IsStale && i.Phase != SessionStorePhase.Unspecified).ToList();
            // A phase this tool cannot read (another SessionStore version's, a hand-written row) cannot be judged
            // adjacent: it is a problem to look at, not an instance to leave out.
            var unreadable = instances.Where(i => !i.IsStale && i.Phase == SessionStorePhase.Unspecified).ToList();
            var adjacent = live.Count == 0 || live.Max(i => i.Phase) - live.Min(i => i.Phase) <= 1;
            var exitCode = adjacent && unreadable.Count == 0 ? ExitCodes.Success : ExitCodes.ProblemsFound;
            if (parse.GetValue(output) == OutputFormat.Json)
            {
                CliOutput.WriteJson(console, new StatusReport(
                    $"{options.SchemaName}.{options.TableName}_instances",
                    parse.GetValue(staleAfter).TotalSeconds,
                    live.Count,
                    adjacent,
                    unreadable.Count,
                    [.. instances.Select(i => new StatusInstance(i.InstanceId, PhaseName(i.Phase), i.StartedAt, i.LastHeartbeat, i.HeartbeatAge.TotalSeconds, i.IsStale))]));
                return exitCode;
            }

            var table = new Table().AddColumn("Instance").AddColumn("Phase").AddColumn("Last heartbeat (UTC)").AddColumn(new TableColumn("Age").RightAligned()).AddColumn("State");
            foreach (var instance in instances)
            {
                table.AddRow(
                    CliOutput.Printable(instance.InstanceId),
                    instance.Phase == SessionStorePhase.Unspecified ? $"[red]{PhaseName(instance.Phase)}[/]" : PhaseName(instance.Phase),
                    instance.LastHeartbeat.UtcDateTime.ToString("u", CultureInfo.InvariantCulture),
                    instance.HeartbeatAge >= TimeSpan.Zero ? $"{instance.HeartbeatAge.TotalSeconds:N0} s" : $"{instance.HeartbeatAge.Duration().TotalSeconds:N0} s ahead",
                    instance.IsStale ? "[yellow]stale[/]" : "[green]live[/]");
            }

            CliOutput.WriteTable(console, table, Markup.Escape($"{options.SchemaName}.{options.TableName}_instances; stale after {parse.GetValue(staleAfter)}"));
            if (instances.Any(i => i.HeartbeatAge < TimeSpan.Zero))
            {
                console.MarkupLine("[yellow]A heartbeat is in the future:[/] the database's clock was set back since it was written; beyond the stale limit it counts as stale.");
            }

            if (unreadable.Count > 0)
            {
                console.MarkupLine(
                    $"[red]{unreadable.Count} live instance(s) record a phase this tool cannot read:[/] {string.Join(", ", unreadable.Select(i => CliOutput.Printable(i.InstanceId)))}. " +
                    "They may run another SessionStore version (use the tool of the same version) or the row was written by hand; whether the phases are adjacent cannot be told until they are known.");
            }

            if (live.Count == 0)
            {
                console.MarkupLine(unreadable.Count == 0 ? "No live instance: none has written a heartbeat lately." : "No live instance with a phase this tool can read.");
                return exitCode;
            }

            var phases = live.GroupBy(i => i.Phase).OrderBy(g => g.Key).Select(g => $"{g.Key} ({g.Count()})").ToList();
            if (!adjacent)
            {
                console.MarkupLine(
                    $"[red]The live instances run phases more than one step apart:[/] {string.Join(", ", phases)}. " +
                    "Sessions one writes, another reads stale or not at all: bring every instance to adjacent phases, one step at a time.");
                return exitCode;
            }

            console.MarkupLine($"[green]{live.Count} live instance(s)[/], phases within one step: {string.Join(", ", phases)}.");
            return exitCode;
        });
        return command;
    }

    /// <summary>A phase as printed: Unspecified is what the fleet table's text parses to when it names no phase this tool knows.</summary>
    private static string PhaseName(SessionStorePhase phase) => phase == SessionStorePhase.Unspecified ? "unreadable" : phase.ToString();
}
