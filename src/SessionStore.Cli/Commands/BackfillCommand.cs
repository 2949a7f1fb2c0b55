using System.CommandLine;
using SessionStore.Migration;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore backfill</c>: copies every live Redis session to PostgreSQL, resumably, with a progress bar.</summary>
internal static class BackfillCommand
{
    public const string DefaultCheckpoint = "sessionstore-backfill.checkpoint.json";

    public static Command Create(CommandContext context) =>
        new CopyCommandShared("backfill", DefaultCheckpoint).Create(
            context,
            "Copy every live session from Redis to PostgreSQL, never overwriting a row PostgreSQL already holds.",
            _ => { },
            (options, copyOptions, progress, token) => new RedisToPostgresBackfill(options).RunAsync(copyOptions, progress, token));
}
