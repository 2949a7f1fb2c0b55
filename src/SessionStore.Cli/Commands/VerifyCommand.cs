using System.CommandLine;
using System.Globalization;
using SessionStore.Cli.Output;
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
        var full = new Option<bool>("--full") { Description = "Compare every session of the primary instead of a sample." };
        var countTolerance = new Option<double>("--count-tolerance")
        {
            Description = "How far the live counts may differ, as a fraction of the larger count (default 0.01, i.e. 1 %).",
            DefaultValueFactory = _ => VerificationOptions.DefaultCountTolerance,
        };
        countTolerance.Refuse(value => value is not (>= 0 and <= 1)
            ? $"--count-tolerance is {value.ToString(CultureInfo.InvariantCulture)}; it must be between 0 and 1 (0.01 = 1 %)."
            : null);
        countTolerance.RefuseGroupedNumber("0.05");
        var output = CliOutput.CreateOption();
        var command = new Command("verify", "Compare the stores; exit 0 only when the live counts are close and no mismatch is confirmed (ready for the next phase).")
        {
            sample, full, countTolerance, output,
        };
        context.SetAction(command, async (parse, token) =>
        {
            // A sample of none compares nothing: its "ready" would be a verdict on the counts alone. --full ignores it,
            // but not a count below zero, which is no count at all.
            if (parse.GetValue(sample) is var size && (size < 0 || size < 1 && !parse.GetValue(full)))
            {
                throw new CliUsageException($"--sample is {size}; it must be at least 1 (or use --full to compare every session).");
            }

            var options = context.Options(parse);
            CommandContext.ThrowIfInvalid(CommandContext.BothStoresFailures(options));
            var console = context.Console;
            var verify = () => new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { SampleSize = parse.GetValue(sample), Full = parse.GetValue(full), CountTolerance = parse.GetValue(countTolerance) }, token);
            var json = parse.GetValue(output) == OutputFormat.Json;

            // A spinner is for a person watching a terminal; a pipe or a script would only collect its frames.
            var result = json || !console.Profile.Capabilities.Interactive
                ? await verify().ConfigureAwait(false)
                : await console.Status().StartAsync("Comparing the stores…", _ => verify()).ConfigureAwait(false);

            var primary = result.PostgresIsPrimary ? "PostgreSQL" : "Redis";
            if (json)
            {
                CliOutput.WriteJson(console, Report(result, primary));
                return result.IsReadyForNextPhase ? ExitCodes.Success : ExitCodes.ProblemsFound;
            }

            var counts = new Table().AddColumn("Store").AddColumn(new TableColumn("Live sessions").RightAligned());
            counts.AddRow($"Redis{(result.PostgresIsPrimary ? "" : " (primary)")}", $"{result.RedisLiveSessions:N0}");
            counts.AddRow($"PostgreSQL{(result.PostgresIsPrimary ? " (primary)" : "")}", $"{result.PostgresLiveSessions:N0}");
            var gap = result.CountsAreClose ? $"{result.CountGap:N0}" : $"[red]{result.CountGap:N0}[/]";
            counts.AddRow("Gap", gap);
            CliOutput.WriteTable(console, counts, $"phase {result.Phase}; counts may differ by {result.CountTolerance.ToString("P1", CultureInfo.InvariantCulture)} of the larger ({result.AllowedCountGap:N0} sessions)");

            var mismatches = new Table().AddColumn("Mismatch").AddColumn(new TableColumn("Confirmed").RightAligned());
            foreach (var (kind, count) in result.Mismatches)
            {
                mismatches.AddRow(Describe(kind), count == 0 ? "0" : $"[red]{count:N0}[/]");
            }

            var secondary = result.PostgresIsPrimary ? "Redis" : "PostgreSQL";
            if (result.OnlyInSecondary is { } onlyInSecondary)
            {
                mismatches.AddRow($"Only in the secondary ({secondary})", onlyInSecondary == 0 ? "0" : $"[red]{onlyInSecondary:N0}[/]");
            }

            mismatches.AddRow(
                "User id differs (PostgreSQL user_id)",
                result.UserIdDiffers switch { null => "not checked", 0 => "0", { } differs => $"[red]{differs:N0}[/]" });

            CliOutput.WriteTable(console, mismatches, $"{result.Compared:N0} {primary} sessions compared; {result.Unconfirmed:N0} differed only while a write was in flight");
            if (result.UserIdDiffers is null)
            {
                // Not a NO-GO: an application may record no user. One that does would learn nothing here.
                console.MarkupLine(
                    "User ids not checked: SessionStore:UserIdSessionKey is not set. If the application sets one (\"log out everywhere\"), " +
                    "give verify the same key: it then checks that each PostgreSQL row records the user its session names.");
            }

            if (result.IsReadyForNextPhase)
            {
                console.MarkupLine("[green]Ready for the next phase:[/] the live counts are close and no mismatch is confirmed.");
                if (result.OnlyInSecondary is null)
                {
                    console.MarkupLine($"Only {primary}'s sessions were compared: before the switch, run [bold]verify --full[/], which also looks for sessions only {secondary} holds.");
                }

                return ExitCodes.Success;
            }

            var empty = result.RedisLiveSessions == 0 ? "Redis" : result.PostgresLiveSessions == 0 ? "PostgreSQL" : null;
            if (!result.CountsAreClose && empty is not null)
            {
                console.MarkupLine(
                    $"[red]Not ready for the next phase:[/] {empty} holds no live session while the other store holds {result.CountGap:N0}: " +
                    "a store restarted empty, or pointed at another database, table or instance name.");
                if (empty == primary)
                {
                    console.MarkupLine($"The primary holds nothing: find out why before copying anything (a copy goes from {primary} to {secondary}).");
                }
            }
            else if (result.BothEmpty)
            {
                console.MarkupLine(
                    "[red]Not ready for the next phase:[/] nothing to compare: neither store holds a live session under the instance name " +
                    "and table given. Check them against the application's settings (--instance-name, --schema, --table); an application " +
                    "that has no session yet loses none by moving on.");
            }
            else if (!result.CountsAreClose)
            {
                console.MarkupLine(
                    $"[red]Not ready for the next phase:[/] the live counts differ by {result.CountGap:N0}, more than the tolerance of " +
                    $"{result.CountTolerance.ToString("P1", CultureInfo.InvariantCulture)} ({result.AllowedCountGap:N0} sessions; --count-tolerance).");
            }

            if (result.Mismatches.Values.Any(count => count > 0))
            {
                console.MarkupLine("[red]Not ready for the next phase:[/] mismatches confirmed.");
            }

            if (result.OnlyInSecondary is > 0)
            {
                // Not copied by sync, which goes from the primary: they left the primary without SessionStore.
                console.MarkupLine(
                    $"[red]Not ready for the next phase:[/] {result.OnlyInSecondary:N0} live sessions are in {secondary} only: they left {primary} " +
                    $"without SessionStore (a script deleting keys, Redis evicting under maxmemory, a restore). Read-repair and failover serve them " +
                    $"again, and so does {secondary} once it is primary. Stop what removes them, then wait until they expire (unused for their " +
                    "sliding window) and verify --full again.");
            }

            if (result.UserIdDiffers is > 0)
            {
                console.MarkupLine(
                    $"[red]Not ready for the next phase:[/] {result.UserIdDiffers:N0} PostgreSQL rows record no user, or another, than their session names " +
                    "under UserIdSessionKey: copied without the application's key, or with another. Once PostgreSQL is primary, \"log out everywhere\" " +
                    "misses them. Run [bold]sessionstore sync[/] (or [bold]backfill[/]) with the application's UserIdSessionKey, which corrects " +
                    "them in place, then verify again; if the key given here is not the application's, correct it and verify again instead.");
            }

            if (!result.CountsAreClose || result.Mismatches.Values.Any(count => count > 0))
            {
                console.MarkupLine($"Copy the {primary} sessions {secondary} lacks or holds older with [bold]sessionstore sync[/] (or, before the first dual phase, [bold]sessionstore backfill[/]), then verify again.");
            }

            return ExitCodes.ProblemsFound;
        });
        return command;
    }

    private static VerifyReport Report(VerificationResult result, string primary)
    {
        return new(
            result.IsReadyForNextPhase,
            result.Phase,
        primary,
            result.RedisLiveSessions,
            result.PostgresLiveSessions,
            result.CountGap,
            result.AllowedCountGap,
            result.CountTolerance,
            result.CountsAreClose,
            result.Compared,
            result.Unconfirmed,
            new MismatchCounts(Count(SessionMismatchKind.MissingInSecondary), Count(SessionMismatchKind.ValueDiffers), Count(SessionMismatchKind.ExpiryDiffers)),
            result.OnlyInSecondary,
            result.UserIdDiffers);

        long Count(SessionMismatchKind kind) => result.Mismatches.GetValueOrDefault(kind);
    }

    private static string Describe(SessionMismatchKind kind) => kind switch
    {
        SessionMismatchKind.MissingInSecondary => "Missing in the secondary",
        SessionMismatchKind.ValueDiffers => "Value differs",
        SessionMismatchKind.ExpiryDiffers => "Expiry differs",
        _ => kind.ToString(),
    };
}
