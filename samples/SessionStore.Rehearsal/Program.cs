using Microsoft.Extensions.Configuration;
using SessionStore;
using SessionStore.Rehearsal;
using SessionStore.Sample;
using Spectre.Console;

// Servers come from SessionStore__Postgres__ConnectionString and SessionStore__Redis__Configuration, as for the
// sample; without them, throw-away local servers are started and deleted on exit.
var configuration = new ConfigurationBuilder()
    .AddEnvironmentVariables()
    .AddCommandLine(args, new Dictionary<string, string>
    {
        ["--read-only"] = "Rehearsal:ReadOnlySessions",
        ["--modified"] = "Rehearsal:ModifiedSessions",
        ["--new-per-phase"] = "Rehearsal:NewSessionsPerPhase",
        ["--changed-in-postgres-only"] = "Rehearsal:ChangedInPostgresOnlySessions",
        ["--rounds"] = "Rehearsal:RoundsPerPhase",
        ["--concurrency"] = "Rehearsal:Concurrency",
    })
    .Build();
var options = configuration.GetSection("Rehearsal").Get<RehearsalOptions>() ?? new RehearsalOptions();

if (Console.IsOutputRedirected)
{
    // Not a terminal (CI, a pipe): Spectre would assume 80 columns and fold the table.
    AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 150);
}

// Ctrl+C cancels instead of killing the process, so that the local servers are still deleted on the way out.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

AnsiConsole.Write(new Rule("[bold]SessionStore migration rehearsal[/]").LeftJustified());
var section = configuration.GetSection(SessionStoreOptions.SectionName);
LocalStores localStores;
try
{
    localStores = await LocalStores.StartMissingAsync(section, message => AnsiConsole.MarkupLineInterpolated($"[grey]{message}[/]"), cancellation.Token);
}
catch (InvalidOperationException e)
{
    AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
    return 2;
}

await using (localStores)
{
    options.PostgresConnectionString = localStores.Settings.GetValueOrDefault($"{section.Path}:{LocalStores.PostgresKey}") ?? section[LocalStores.PostgresKey];
    options.RedisConfiguration = localStores.Settings.GetValueOrDefault($"{section.Path}:{LocalStores.RedisKey}") ?? section[LocalStores.RedisKey];
    AnsiConsole.MarkupLineInterpolated($"[grey]Route: {string.Join(" → ", MigrationRehearsal.Route)}[/]");
    AnsiConsole.MarkupLineInterpolated(
        $"[grey]Each phase: {options.NewSessionsPerPhase} new sign-ins, then {options.RoundsPerPhase} rounds over every session, {options.Concurrency} requests at a time.[/]");

    RehearsalReport report;
    try
    {
        report = await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(context => new MigrationRehearsal(options, new ProgressMonitor(context)).RunAsync(cancellation.Token));
    }
    catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
    {
        AnsiConsole.MarkupLine("[yellow]Stopped before the end: no verdict.[/]");
        return 2;
    }
    catch (Exception e)
    {
        AnsiConsole.WriteException(e, ExceptionFormats.ShortenEverything);
        AnsiConsole.MarkupLine("[bold red]Verdict: FAIL[/] — the rehearsal could not run to the end.");
        return 1;
    }

    AnsiConsole.Write(ReportTable.Render(report));
    AnsiConsole.MarkupLine(ReportTable.Verdict(report));
    return report.Passed ? 0 : 1;
}
