using System.CommandLine;
using System.Globalization;
using SessionStore.Cli.Output;
using SessionStore.Migration;
using Spectre.Console;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore stats</c>: live sessions per store, cleanup backlog, sizes, HOT updates, last cleanup.</summary>
internal static class StatsCommand
{
    public static Command Create(CommandContext context)
    {
        var output = CliOutput.CreateOption();
        var command = new Command("stats", "Show live sessions per store, expired rows not yet cleaned, table and index sizes, the HOT-update ratio and the last cleanup run.") { output };
        context.SetAction(command, async (parse, token) =>
        {
            var options = context.Options(parse);
            var s = await StorageStatistics.CollectAsync(options, token).ConfigureAwait(false);
            if (parse.GetValue(output) == OutputFormat.Json)
            {
                CliOutput.WriteJson(context.Console, new StatsReport(
                    $"{options.Postgres.SchemaName}.{options.Postgres.TableName}",
                    options.Redis.InstanceName,
                    s.RedisLiveSessions,
                    s.PostgresLiveSessions,
                    s.PostgresExpiredRows,
                    s.TableBytes,
                    s.IndexBytes,
                    s.Updates,
                    s.HotUpdateRatio,
                    s.LastCleanupFinishedAt,
                    s.LastCleanupRowsDeleted,
                    s.LastCleanupDuration?.TotalMilliseconds));
                return ExitCodes.Success;
            }

            var table = new Table().AddColumn("Statistic").AddColumn(new TableColumn("Value").RightAligned());
            table.AddRow("Redis live sessions", Count(s.RedisLiveSessions));
            table.AddRow("PostgreSQL live sessions", Count(s.PostgresLiveSessions));
            if (s.PostgresLiveSessions is not null)
            {
                table.AddRow("Expired rows not yet cleaned", Count(s.PostgresExpiredRows));
                table.AddRow("Table size", Bytes(s.TableBytes!.Value));
                foreach (var (index, bytes) in s.IndexBytes)
                {
                    table.AddRow(Markup.Escape($"Index {index}"), Bytes(bytes));
                }

                table.AddRow("HOT updates", s.HotUpdateRatio is { } ratio ? $"{ratio:P1} of {s.Updates:N0}" : "no updates yet");
                table.AddRow("Last cleanup run", s.LastCleanupFinishedAt is { } at
                    ? $"{at.UtcDateTime.ToString("u", CultureInfo.InvariantCulture)}: {s.LastCleanupRowsDeleted:N0} rows in {s.LastCleanupDuration!.Value.TotalMilliseconds:N0} ms"
                    : "none recorded");
            }

            CliOutput.WriteTable(context.Console, table, Markup.Escape($"{options.Postgres.SchemaName}.{options.Postgres.TableName}, Redis prefix '{options.Redis.InstanceName}'"));
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Count(long? count) => count is { } n ? n.ToString("N0", CultureInfo.InvariantCulture) : "not configured";

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1 << 30 => $"{bytes / (double)(1 << 30):F1} GiB",
        >= 1 << 20 => $"{bytes / (double)(1 << 20):F1} MiB",
        >= 1 << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };
}
