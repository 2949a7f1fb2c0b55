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
        ["--fleet"] = "Rehearsal:Fleet",
    })
    .Build();
var options = configuration.GetSection("Rehearsal").Get<RehearsalOptions>() ?? new RehearsalOptions();

// --fleet N: N instances rolled one at a time instead of one application switched at once.
var fleetSize = configuration.GetValue<int?>("Rehearsal:Fleet");

if (Console.IsOutputRedirected)
{
    // Not a terminal (CI, a pipe): Spectre would assume 80 columns and fold the table.
    AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
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
    return fleetSize is { } instances
        ? await RehearseFleetAsync(options, instances, cancellation.Token)
        : await RehearseAsync(options, cancellation.Token);
}

static async Task<int> RehearseAsync(RehearsalOptions options, CancellationToken cancellationToken)
{
    AnsiConsole.MarkupLineInterpolated(
        $"[grey]Each phase: {options.NewSessionsPerPhase} new sign-ins, then {options.RoundsPerPhase} rounds over every session, {options.Concurrency} requests at a time.[/]");
    RehearsalReport report;
    try
    {
        report = await WithProgressAsync(monitor => new MigrationRehearsal(options, monitor).RunAsync(cancellationToken));
    }
    catch (Exception e) when (Failed(e, cancellationToken) is { } exitCode)
    {
        return exitCode;
    }

    AnsiConsole.Write(ReportTable.Render(report));
    AnsiConsole.MarkupLine(ReportTable.Verdict(report));
    return report.Passed ? 0 : 1;
}

static async Task<int> RehearseFleetAsync(RehearsalOptions options, int instances, CancellationToken cancellationToken)
{
    AnsiConsole.MarkupLineInterpolated(
        $"[grey]{instances} instances, each step rolled out one instance at a time; after each switch: {options.NewSessionsPerPhase} new sign-ins, then {options.RoundsPerPhase} rounds over every session, {options.Concurrency} requests at a time, each to a random instance.[/]");
    FleetRehearsalReport report;
    try
    {
        report = await WithProgressAsync(monitor => new FleetRehearsal(options, instances, monitor).RunAsync(cancellationToken));
    }
    catch (Exception e) when (Failed(e, cancellationToken) is { } exitCode)
    {
        return exitCode;
    }

    AnsiConsole.Write(FleetReportTable.Render(report));
    AnsiConsole.MarkupLine(FleetReportTable.Verdict(report));
    return report.Passed ? 0 : 1;
}

static Task<T> WithProgressAsync<T>(Func<IRehearsalMonitor, Task<T>> rehearse) =>
    AnsiConsole.Progress()
        .AutoClear(false)
        .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
        .StartAsync(context => rehearse(new ProgressMonitor(context)));

// Ctrl+C gives no verdict (2); anything else that stops the rehearsal is a failure (1).
static int? Failed(Exception e, CancellationToken cancellationToken)
{
    if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
    {
        AnsiConsole.MarkupLine("[yellow]Stopped before the end: no verdict.[/]");
        return 2;
    }

    AnsiConsole.WriteException(e, ExceptionFormats.ShortenEverything);
    AnsiConsole.MarkupLine("[bold red]Verdict: FAIL[/] — the rehearsal could not run to the end.");
    return 1;
}
