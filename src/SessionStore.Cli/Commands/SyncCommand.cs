using System.CommandLine;
using SessionStore.DualWrite.Internal;
using SessionStore.Fleet;
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
            (options, copyOptions, progress, token) => new SessionStoreSync(options).RunAsync(copyOptions, progress, token),
            ThrowIfTheFleetReadsAnotherPrimaryAsync);

    /// <summary>
    /// Refuses a sync whose phase names another primary than the live application instances read (a stale
    /// SessionStore__Phase in the shell): it would copy the secondary's older sessions over the newer ones the
    /// application writes first. Instances of the fleet table that are stale, or name no phase, are left out; without
    /// a fleet table (schema before version 4) there is nothing to check.
    /// </summary>
    private static async Task ThrowIfTheFleetReadsAnotherPrimaryAsync(SessionStoreOptions options, CancellationToken token)
    {
        IReadOnlyList<FleetInstance> instances;
        try
        {
            instances = await SessionStoreFleet.ReadAsync(options.Postgres, new SessionStoreFleetOptions().StaleAfter, token).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            return;
        }

        var primary = PhaseRoles.Of(options.Phase).Primary;
        var others = instances.Where(i => !i.IsStale && i.Phase is not SessionStorePhase.Unspecified && PhaseRoles.Of(i.Phase).Primary != primary).ToList();
        if (others.Count > 0)
        {
            throw new CliUsageException(
                $"The phase is {options.Phase}, whose primary is {PhaseRoles.NameOf(primary)}, but {others.Count} live application instance(s) run " +
                $"{string.Join(", ", others.Select(i => i.Phase).Distinct())}, whose primary is the other store: a sync in this direction would copy older " +
                "sessions over the ones the application writes first. Give the phase the application runs (see sessionstore status), or wait until every instance runs it.");
        }
    }
}
