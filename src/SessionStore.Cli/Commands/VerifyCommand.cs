using System.CommandLine;
using SessionStore.DualWrite;
using SessionStore.Migration;
using Spectre.Console;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore verify</c>: the go/no-go check: counts and compares the stores; exit 0 only without confirmed mismatches.</summary>
internal static class VerifyCommand
{
    public static Command Create(CommandContext context)
    {
        var sample = new Option<int>("--sample") { Description = "Compare this many sessions of the primary, chosen at random.", DefaultValueFactory = _ => 1_000 };
        sample.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--sample must not be negative.");
            }
        });
        var full = new Option<bool>("--full") { Description = "Compare every session of the primary instead of a sample." };
        var command = new Command("verify", "Compare the stores; exit 0 only when no mismatch is confirmed (ready for the next phase).") { sample, full };
        context.SetAction(command, async (parse, token) =>
        {
            var options = context.Options(parse);
            CommandContext.ThrowIfInvalid(CommandContext.BothStoresFailures(options));
            var console = context.Console;
            var result = await console.Status().StartAsync("Comparing the stores…", _ =>
                new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { SampleSize = parse.GetValue(sample), Full = parse.GetValue(full) }, token)).ConfigureAwait(false);

            var primary = result.PostgresIsPrimary ? "PostgreSQL" : "Redis";
            var counts = new Table().AddColumn("Store").AddColumn(new TableColumn("Live sessions").RightAligned());
            counts.AddRow($"Redis{(result.PostgresIsPrimary ? "" : " (primary)")}", $"{result.RedisLiveSessions:N0}");
            counts.AddRow($"PostgreSQL{(result.PostgresIsPrimary ? " (primary)" : "")}", $"{result.PostgresLiveSessions:N0}");
            counts.Caption($"phase {result.Phase}");
            console.Write(counts);

            var mismatches = new Table().AddColumn("Mismatch").AddColumn(new TableColumn("Confirmed").RightAligned());
            foreach (var (kind, count) in result.Mismatches)
            {
                mismatches.AddRow(Describe(kind), count == 0 ? "0" : $"[red]{count:N0}[/]");
            }

            mismatches.Caption($"{result.Compared:N0} {primary} sessions compared; {result.Unconfirmed:N0} differed only while a write was in flight");
            console.Write(mismatches);
            if (result.IsReadyForNextPhase)
            {
                console.MarkupLine("[green]Ready for the next phase:[/] no confirmed mismatch.");
                return ExitCodes.Success;
            }

            console.MarkupLine("[red]Not ready for the next phase:[/] mismatches confirmed. Run [bold]sessionstore backfill[/] and verify again.");
            return ExitCodes.ProblemsFound;
        });
        return command;
    }

    private static string Describe(SessionMismatchKind kind) => kind switch
    {
        SessionMismatchKind.MissingInSecondary => "Missing in the secondary",
        SessionMismatchKind.ValueDiffers => "Value differs",
        SessionMismatchKind.ExpiryDiffers => "Expiry differs",
        _ => kind.ToString(),
    };
}
