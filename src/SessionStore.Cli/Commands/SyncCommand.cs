using System.CommandLine;
using SessionStore.Migration;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore sync</c>: brings the secondary of a dual phase up to the primary, resumably, with a progress bar.</summary>
internal static class SyncCommand
{
    public const string DefaultCheckpoint = "sessionstore-sync.checkpoint.json";

    public static Command Create(CommandContext context) =>
        new CopyCommandShared("sync", DefaultCheckpoint).Create(
            context,
            "Copy the sessions the secondary store lacks or holds older from the primary (per --phase), never overwriting a newer copy or bringing back a removed session.",
            options =>
            {
                if (options.Phase is not (SessionStorePhase.DualWriteRedisPrimary or SessionStorePhase.DualWritePostgresPrimary))
                {
                    throw new CliUsageException(
                        $"sync needs the dual phase the application runs (--phase dual-redis-primary or dual-pg-primary, or SessionStore:Phase); the phase is {options.Phase}. " +
                        "Before the first dual phase, copy Redis to PostgreSQL with `sessionstore backfill`.");
                }
            },
            (options, copyOptions, progress, token) => new SessionStoreSync(options).RunAsync(copyOptions, progress, token));
}
