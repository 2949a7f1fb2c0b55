using System.CommandLine;
using SessionStore.Cli.Output;
using SessionStore.Migration;
using Spectre.Console;

namespace SessionStore.Cli.Commands;

/// <summary>What <c>backfill</c> and <c>sync</c> share: the copy options, the progress bar, the summary and the exit codes.</summary>
internal sealed class CopyCommandShared
{
    private readonly string _name;

    public CopyCommandShared(string name, string defaultCheckpoint)
    {
        _name = name;
        // Checked before any server is contacted: a rate too small to wait for failed only after the first copy.
        Rate.Refuse(value => value is { } rate && !(rate >= BackfillOptions.MinimumRatePerSecond && double.IsFinite(rate))
            ? $"--rate is {rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}; it must be a finite number of at least {BackfillOptions.MinimumRatePerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)} (sessions per second)."
            : null);
        Rate.RefuseGroupedNumber("5000 or 0.5");
        BatchSize.Refuse(value => value is < 1 or > 10_000 ? $"--batch-size is {value}; it must be between 1 and 10000." : null);
        MaxPasses.Refuse(value => value is < 1 or > 100 ? $"--max-passes is {value}; it must be between 1 and 100." : null);
        Checkpoint = new Option<string>("--checkpoint") { Description = "The checkpoint file: resumed from when it exists, deleted when the run completes.", DefaultValueFactory = _ => defaultCheckpoint };
    }

    public Option<double?> Rate { get; } = new("--rate") { Description = "At most this many sessions per second (default: no limit)." };

    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Sessions per read and write batch.", DefaultValueFactory = _ => 500 };

    public Option<string> Checkpoint { get; }

    public Option<int> MaxPasses { get; } = new("--max-passes")
    {
        Description = "On a Redis Cluster, the most passes over the source when slots move or a failover happens during a pass (each such pass may miss sessions).",
        DefaultValueFactory = _ => new BackfillOptions().MaxPasses,
    };

    public Option<bool> Restart { get; } = new("--restart") { Description = "Ignore an existing checkpoint and start from the beginning." };

    public Option<OutputFormat> Output { get; } = CliOutput.CreateOption();

    /// <summary>Without a terminal, at most one progress line this often: a log keeps a heartbeat, not a line per batch.</summary>
    public static TimeSpan PlainProgressInterval { get; } = TimeSpan.FromSeconds(10);

    private IEnumerable<Option> All => [Rate, BatchSize, Checkpoint, Restart, MaxPasses, Output];

    private BackfillOptions Options(ParseResult parse) => new()
    {
        RatePerSecond = parse.GetValue(Rate),
        BatchSize = parse.GetValue(BatchSize),
        CheckpointPath = parse.GetValue(Checkpoint),
        Restart = parse.GetValue(Restart),
        MaxPasses = parse.GetValue(MaxPasses),
    };

    /// <summary>The command: the copy options, and an action that checks the options, then runs <paramref name="copy"/> under a progress bar.</summary>
    public Command Create(
        CommandContext context,
        string description,
        Action<SessionStoreOptions> checkOptions,
        Func<SessionStoreOptions, BackfillOptions, IProgress<BackfillProgress>, CancellationToken, Task<BackfillProgress>> copy,
        Func<SessionStoreOptions, CancellationToken, Task>? checkServers = null)
    {
        var command = new Command(_name, description);
        foreach (var option in All)
        {
            command.Options.Add(option);
        }

        context.SetAction(command, async (parse, token) =>
        {
            var options = context.Options(parse);
            checkOptions(options);
            CommandContext.ThrowIfInvalid(CommandContext.BothStoresFailures(options));
            var copyOptions = Options(parse);
            ThrowIfCheckpointCannotBeWritten(copyOptions.CheckpointPath!);
            if (checkServers is not null)
            {
                await checkServers(options, token).ConfigureAwait(false);
            }
            Func<IProgress<BackfillProgress>, CancellationToken, Task<BackfillProgress>> run = (progress, t) => copy(options, copyOptions, progress, t);
            if (parse.GetValue(Output) == OutputFormat.Json)
            {
                return await RunForJsonAsync(context, copyOptions, run, token).ConfigureAwait(false);
            }

            if (string.IsNullOrWhiteSpace(options.UserIdSessionKey ?? options.Postgres.UserIdSessionKey))
            {
                // Not an error (an application may have no signed-in users), but a copy without it leaves user_id empty
                // and the Redis per-user index unbuilt, so "log out everywhere" finds none of the copied sessions.
                context.Console.MarkupLine(
                    "[yellow]warning:[/] SessionStore:UserIdSessionKey is not set: the copies get no user id, and \"log out everywhere\" will not find them. " +
                    "Set it as the application does, unless its sessions name no user.");
            }

            return await RunAsync(
                context,
                copyOptions,
                run,
                $"[green]{Title} complete.[/] Check the stores with [bold]sessionstore verify[/].",
                token).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>
    /// Fails before any server is contacted when the checkpoint cannot be written: a copy found out after its first
    /// batch, with a stack trace. The probe is the file the checkpoint is written to first.
    /// </summary>
    private static void ThrowIfCheckpointCannotBeWritten(string path)
    {
        // A blank path passed the probe below (it writes ".tmp" in the current directory), then failed after the first batch.
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new CliUsageException($"--checkpoint is '{path}'; give the path of a file.");
        }

        if (Directory.Exists(path))
        {
            throw new CliUsageException($"--checkpoint is '{path}', a directory; give the path of a file.");
        }

        try
        {
            using (File.Create(path + ".tmp", 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"--checkpoint is '{path}', which cannot be written: {e.Message}");
        }
    }

    /// <summary>Runs a copy under a progress bar and prints its summary; returns the exit code.</summary>
    private async Task<int> RunAsync(CommandContext context, BackfillOptions options, Func<IProgress<BackfillProgress>, CancellationToken, Task<BackfillProgress>> copy, string done, CancellationToken token)
    {
        var console = context.Console;
        BackfillProgress? last = null;
        // Left behind on a hung server after Ctrl+C, the run still says what it copied.
        context.WhenAbandoned(() =>
        {
            if (last is not null)
            {
                WriteSummary(console, last);
            }
        });
        try
        {
            if (!console.Profile.Capabilities.Interactive)
            {
                var plain = PlainProgress(console);
                last = await copy(new Reporter(p =>
                {
                    last = p; // so that an interrupted run still prints its summary
                    plain(p);
                }), token).ConfigureAwait(false);
            }
            else
            {
                await RunWithProgressBarAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            if (context.IsAbandoned)
            {
                return ExitCodes.Interrupted; // its summary was printed when it was left behind
            }

            if (last is not null)
            {
                WriteSummary(console, last);
            }

            console.MarkupLine(SavedCheckpoint(options) is { } checkpoint
                ? $"[yellow]Interrupted.[/] Run the same command again to resume from {Markup.Escape(checkpoint)}."
                : "[yellow]Interrupted[/] before its first checkpoint: run the same command again to start over.");
            return ExitCodes.Interrupted;
        }
        catch (Exception) when (last is not null && !context.IsAbandoned)
        {
            // A store failed part-way (a hung server's timeout, an interrupt included): the failure follows, named by
            // the usual handler. The batch it stopped may have landed without the check that takes back a session
            // signed out meanwhile.
            WriteSummary(console, last);
            console.MarkupLine(
                $"[yellow]{Title} stopped on the failure below[/], in the middle of a batch: a session signed out during it may have been copied without the check " +
                $"that takes it back. Once the servers answer, run [bold]sessionstore verify --full[/], then the same command again to resume from {Markup.Escape(options.CheckpointPath!)}.");
            throw;
        }

        if (context.IsAbandoned)
        {
            return ExitCodes.Interrupted;
        }

        WriteSummary(console, last!);
        if (last!.Errors > 0)
        {
            console.MarkupLine($"[red]{last.Errors:N0} sessions could not be copied[/] (keys longer than 255 characters for PostgreSQL, or entries the target refused).");
        }

        if (!last.Completed)
        {
            console.MarkupLine(
                $"[red]{Title} not complete:[/] the Redis Cluster's slots moved or a failover happened during each of its {last.Passes} passes, so sessions may have been missed. " +
                $"Run [bold]sessionstore {_name}[/] again once resharding is over (sessions already copied are kept), or check with [bold]sessionstore verify --full[/].");
            return ExitCodes.Incomplete;
        }

        if (last.Errors > 0)
        {
            return ExitCodes.ProblemsFound;
        }

        console.MarkupLine(done);
        return ExitCodes.Success;

        Task RunWithProgressBarAsync() =>
            console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask(Title, maxValue: 1);
                    last = await copy(new Reporter(p =>
                    {
                        last = p;
                        task.MaxValue = Math.Max(1, p.EstimatedTotal);
                        task.Value = p.Completed ? task.MaxValue : p.Scanned;
                        task.Description = $"{p.Copied + p.Replaced:N0} copied, {SessionsPerSecond(p):N0}/s";
                    }), token).ConfigureAwait(false);
                });
    }

    /// <summary>The copy with nothing on the console until its one JSON document, whatever the outcome.</summary>
    private async Task<int> RunForJsonAsync(CommandContext context, BackfillOptions options, Func<IProgress<BackfillProgress>, CancellationToken, Task<BackfillProgress>> copy, CancellationToken token)
    {
        var console = context.Console;
        var last = new BackfillProgress();
        // A document of its own: unlike a clean interrupt, the batch left behind may have landed without its check.
        context.WhenAbandoned(() => CliOutput.WriteJson(console, Report(last, "abandoned", SavedCheckpoint(options))), isDocument: true);
        try
        {
            last = await copy(new Reporter(p => last = p), token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            if (!context.IsAbandoned)
            {
                CliOutput.WriteJson(console, Report(last, "interrupted", SavedCheckpoint(options)));
            }

            return ExitCodes.Interrupted;
        }

        if (context.IsAbandoned)
        {
            return ExitCodes.Interrupted;
        }

        var (outcome, exitCode) = !last.Completed ? ("incomplete", ExitCodes.Incomplete)
            : last.Errors > 0 ? ("errors", ExitCodes.ProblemsFound)
            : ("completed", ExitCodes.Success);
        CliOutput.WriteJson(console, Report(last, outcome, checkpoint: null));
        return exitCode;
    }

    /// <summary>The checkpoint to resume from, when one was written: an interrupt before the first leaves none.</summary>
    private static string? SavedCheckpoint(BackfillOptions options) => File.Exists(options.CheckpointPath) ? options.CheckpointPath : null;

    private CopyReport Report(BackfillProgress p, string outcome, string? checkpoint) => new(
        _name, outcome, p.Scanned, p.Copied, p.Replaced, p.AlreadyPresent, p.UserIdsCorrected, p.Skipped, p.ResurrectionsAvoided, p.Errors, p.Resumed, p.Passes, p.TopologyChanged, p.Elapsed.TotalSeconds, checkpoint);

    /// <summary>One plain line per <see cref="PlainProgressInterval"/> at most; the summary table follows at the end.</summary>
    private Action<BackfillProgress> PlainProgress(IAnsiConsole console)
    {
        var next = TimeSpan.Zero;
        return p =>
        {
            if (p.Completed || p.Elapsed < next)
            {
                return;
            }

            next = p.Elapsed + PlainProgressInterval;
            console.WriteLine($"{Title}: {p.Scanned:N0} of about {p.EstimatedTotal:N0} scanned, {p.Copied + p.Replaced:N0} copied, {SessionsPerSecond(p):N0}/s, {p.Elapsed.TotalSeconds:F0} s");
        };
    }

    private string Title => char.ToUpperInvariant(_name[0]) + _name[1..];

    /// <summary>This run's rate: a resumed run's <see cref="BackfillProgress.Scanned"/> includes what earlier runs listed.</summary>
    private static double SessionsPerSecond(BackfillProgress p) => p.Elapsed > TimeSpan.Zero ? p.ScannedThisRun / p.Elapsed.TotalSeconds : 0;

    private void WriteSummary(IAnsiConsole console, BackfillProgress p)
    {
        var table = new Table().AddColumn(Title).AddColumn(new TableColumn("Sessions").RightAligned());
        table.AddRow("Scanned", $"{p.Scanned:N0}");
        table.AddRow("Copied", $"{p.Copied:N0}");
        if (_name == "sync")
        {
            table.AddRow("Older copy replaced", $"{p.Replaced:N0}");
        }

        table.AddRow("Already present (kept)", $"{p.AlreadyPresent:N0}");
        table.AddRow("User id corrected (PostgreSQL)", $"{p.UserIdsCorrected:N0}");
        table.AddRow("Expired or skipped", $"{p.Skipped:N0}");
        table.AddRow("Resurrection avoided", $"{p.ResurrectionsAvoided:N0}");
        table.AddRow("Errors", $"{p.Errors:N0}");
        var passes = p.Passes > 1 ? $"{p.Passes} passes (the cluster's topology changed); " : p.TopologyChanged ? "the cluster's topology changed; " : "";
        CliOutput.WriteTable(console, table, $"{(p.Resumed ? "resumed from a checkpoint; " : "")}{passes}this run {p.Elapsed.TotalSeconds:F1} s");
    }

    private sealed class Reporter(Action<BackfillProgress> report) : IProgress<BackfillProgress>
    {
        public void Report(BackfillProgress value) => report(value);
    }
}
