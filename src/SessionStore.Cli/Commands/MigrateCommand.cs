using System.CommandLine;
using Npgsql;
using SessionStore.Postgres;
using Spectre.Console;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore migrate [--dry-run]</c>: creates or upgrades the session table, or prints its SQL.</summary>
internal static class MigrateCommand
{
    public static Command Create(CommandContext context)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the SQL instead of running it; no connection is made." };
        var command = new Command("migrate", "Create or upgrade the PostgreSQL session table (idempotent).") { dryRun };
        context.SetAction(command, async (parse, token) =>
        {
            var options = context.Options(parse).Postgres;
            var console = context.Console;
            if (parse.GetValue(dryRun))
            {
                // A script of settings the cache would refuse (a partition width out of range) is refused as the cache would.
                CommandContext.ThrowIfInvalid(CommandContext.PostgresScriptFailures(options));
                // The script needs no server, but the migrator a data source: an unopened one costs nothing.
                using var offline = NpgsqlDataSource.Create(options.ConnectionString ?? "Host=localhost");
                // Unwrapped, so that the output can be saved and run as it is; built from the options, so that the
                // layout and the payload column type follow the configuration.
                console.Profile.Out.Writer.WriteLine(new PostgresSchemaMigrator(offline, options).GetScript());
                return ExitCodes.Success;
            }

            CommandContext.ThrowIfInvalid(CommandContext.PostgresFailures(options));
            var ownsDataSource = options.DataSource is null;
            // Bounded by OperationTimeout: a hung server or a lock held for ever ends the command, not Npgsql's 30 s or never.
            var dataSource = PostgresSessionCache.DataSourceWithDriverTimeouts(options);
            try
            {
                var outcome = await new PostgresSchemaMigrator(dataSource, options).MigrateWithOutcomeAsync(token).ConfigureAwait(false);
                var table = Markup.Escape($"{options.SchemaName}.{options.TableName}");
                console.MarkupLine(outcome.Applied.Count == 0
                    ? $"[green]{table} is up to date[/] (schema version {PostgresSchemaMigrator.LatestVersion})."
                    : outcome.MadeAgain.Count > 0
                        ? $"[green]{table} repaired:[/] made again {Markup.Escape(string.Join(", ", outcome.MadeAgain))}, dropped by hand (from script {string.Join(", ", outcome.Applied)})."
                        : $"[green]{table} migrated:[/] applied version(s) {string.Join(", ", outcome.Applied)}.");
                if (outcome.PartitionsPostponed)
                {
                    // Not a failure: the schema is current, and the cleanup service creates the partitions on its next run.
                    console.MarkupLine($"[yellow]The partitions ahead were not created:[/] another session held a lock on {table} for more than 250 ms " +
                        "(a long query or a dump). Until the cleanup service creates them, sessions expiring past the current horizon go to the forever " +
                        "partition. Run migrate again when the table is idle, or leave it to the cleanup.");
                }

                return ExitCodes.Success;
            }
            finally
            {
                if (ownsDataSource)
                {
                    await dataSource.DisposeAsync().ConfigureAwait(false);
                }
            }
        });
        return command;
    }
}
