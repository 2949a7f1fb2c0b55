using System.CommandLine;

namespace SessionStore.Cli.Commands;

internal static class StatsCommand
{
    public static Command Create(CommandContext context)
    {
        var command = new Command("stats", "Show live sessions per store, expired rows, table and index sizes, HOT updates and the last cleanup run.");
        context.SetAction(command, (parse, token) => Task.FromResult(ExitCodes.Success));
        return command;
    }
}
