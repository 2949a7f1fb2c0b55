using System.CommandLine;
using SessionStore.Migration;
using Spectre.Console;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore backfill</c>: copies every live Redis session to PostgreSQL, resumably, with a progress bar.</summary>
internal static class BackfillCommand
{
    public const string DefaultCheckpoint = "sessionstore-backfill.checkpoint.json";

    public static Command Create(CommandContext context)
    {
        var rate = new Option<double?>("--rate") { Description = "At most this many sessions per second (default: no limit)." };
        rate.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is <= 0)
            {
                r.AddError("--rate must be more than 0.");
            }
        });
        var batchSize = new Option<int>("--batch-size") { Description = "Sessions per Redis pipeline and PostgreSQL batch.", DefaultValueFactory = _ => 500 };
        batchSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 10_000)
            {
                r.AddError("--batch-size must be between 1 and 10000.");
            }
        });
        var checkpoint = new Option<string>("--checkpoint") { Description = "The checkpoint file: resumed from when it exists, deleted when the backfill completes.", DefaultValueFactory = _ => DefaultCheckpoint };
        var restart = new Option<bool>("--restart") { Description = "Ignore an existing checkpoint and start from the beginning." };
        var command = new Command("backfill", "Copy every live session from Redis to PostgreSQL, never overwriting a row PostgreSQL already holds.")
        {
            rate, batchSize, checkpoint, restart,
        };

        context.SetAction(command, async (parse, token) =>
        {
            var options = context.Options(parse);
            CommandContext.ThrowIfInvalid(CommandContext.BothStoresFailures(options));
            var backfillOptions = new BackfillOptions
            {
                RatePerSecond = parse.GetValue(rate),
                BatchSize = parse.GetValue(batchSize),
                CheckpointPath = parse.GetValue(checkpoint),
                Restart = parse.GetValue(restart),
            };
            var console = context.Console;
            BackfillProgress? last = null;
            try
            {
                await console.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask("Backfill", maxValue: 1);
                        last = await new RedisToPostgresBackfill(options).RunAsync(backfillOptions, new Reporter(p =>
                        {
                            last = p;
                            task.MaxValue = Math.Max(1, p.EstimatedTotal);
                            task.Value = p.Completed ? task.MaxValue : p.Scanned;
                            task.Description = $"{p.Copied:N0} copied, {Rate(p):N0}/s";
                        }), token).ConfigureAwait(false);
                    }).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                if (last is not null)
                {
                    console.Write(Summary(last));
                }

                console.MarkupLine($"[yellow]Interrupted.[/] Run the same command again to resume from {Markup.Escape(backfillOptions.CheckpointPath!)}.");
                return ExitCodes.Interrupted;
            }

            console.Write(Summary(last!));
            if (last!.Errors > 0)
            {
                console.MarkupLine($"[red]{last.Errors:N0} sessions could not be copied[/] (keys longer than 255 characters, or rows PostgreSQL refused).");
                return ExitCodes.ProblemsFound;
            }

            console.MarkupLine("[green]Backfill complete.[/] Check the stores with [bold]sessionstore verify[/].");
            return ExitCodes.Success;
        });
        return command;
    }

    private static double Rate(BackfillProgress p) => p.Elapsed > TimeSpan.Zero ? p.Scanned / p.Elapsed.TotalSeconds : 0;

    private static Table Summary(BackfillProgress p)
    {
        var table = new Table().AddColumn("Backfill").AddColumn(new TableColumn("Sessions").RightAligned());
        table.AddRow("Scanned", $"{p.Scanned:N0}");
        table.AddRow("Copied", $"{p.Copied:N0}");
        table.AddRow("Already present (kept)", $"{p.AlreadyPresent:N0}");
        table.AddRow("Expired or skipped", $"{p.Skipped:N0}");
        table.AddRow("Resurrection avoided", $"{p.ResurrectionsAvoided:N0}");
        table.AddRow("Errors", $"{p.Errors:N0}");
        table.Caption($"{(p.Resumed ? "resumed from a checkpoint; " : "")}this run {p.Elapsed.TotalSeconds:F1} s");
        return table;
    }

    private sealed class Reporter(Action<BackfillProgress> report) : IProgress<BackfillProgress>
    {
        public void Report(BackfillProgress value) => report(value);
    }
}
