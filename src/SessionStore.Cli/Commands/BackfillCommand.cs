using System.CommandLine;
using SessionStore.Migration;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore backfill</c>: copies every live Redis session to PostgreSQL, resumably, with a progress bar.</summary>
internal static class BackfillCommand
{
    public const string DefaultCheckpoint = "sessionstore-backfill.checkpoint.json";

    public static Command Create(CommandContext context)
    {
        var shared = new CopyCommandShared("backfill", DefaultCheckpoint);
        var command = new Command("backfill", "Copy every live session from Redis to PostgreSQL, never overwriting a row PostgreSQL already holds.");
        foreach (var option in shared.All)
        {
            command.Options.Add(option);
        }

        context.SetAction(command, async (parse, token) =>
        {
            var options = context.Options(parse);
            CommandContext.ThrowIfInvalid(CommandContext.BothStoresFailures(options));
            var backfill = new RedisToPostgresBackfill(options);
            return await shared.RunAsync(
                context.Console,
                shared.Options(parse),
                (progress, t) => backfill.RunAsync(shared.Options(parse), progress, t),
                "[green]Backfill complete.[/] Check the stores with [bold]sessionstore verify[/].",
                token).ConfigureAwait(false);
        });
        return command;
    }
}
