using SessionStore.Cli;
using Spectre.Console.Testing;

namespace SessionStore.Tests.Cli;

/// <summary>Runs the <c>sessionstore</c> command line in-process, as the tool's entry point does, and captures what it shows.</summary>
public static class CliRunner
{
    public static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyDictionary<string, string?>? environment, CancellationToken token, params string[] args)
    {
        var console = new TestConsole();
        console.Profile.Width = 200;
        var exitCode = await CliApplication.RunAsync(args, console, environment ?? new Dictionary<string, string?>(), token);
        return (exitCode, console.Output);
    }

    /// <summary>Runs with the console the tool uses when standard output is a pipe or a file.</summary>
    public static Task<(int ExitCode, string Output)> RunPlainAsync(IReadOnlyDictionary<string, string?>? environment, CancellationToken token, params string[] args) =>
        RunPlainAsync(environment, token, CliApplication.GracefulStop, args);

    /// <summary>Runs with the console of a pipe, an interrupted command given <paramref name="gracefulStop"/> to stop.</summary>
    public static async Task<(int ExitCode, string Output)> RunPlainAsync(IReadOnlyDictionary<string, string?>? environment, CancellationToken token, TimeSpan gracefulStop, params string[] args)
    {
        await using var writer = new StringWriter();
        var exitCode = await CliApplication.RunAsync(args, SessionStore.Cli.Output.CliOutput.Plain(writer), environment ?? new Dictionary<string, string?>(), token, gracefulStop);
        return (exitCode, writer.ToString());
    }

    public static Task<(int ExitCode, string Output)> RunAsync(params string[] args) =>
        RunAsync(null, TestContext.Current.CancellationToken, args);

    /// <summary>The scenario's settings as command-line flags.</summary>
    public static string[] Flags(Migration.MigrationScenario scenario, string phase = "dual-redis-primary")
    {
        var settings = scenario.Settings();
        return
        [
            "--postgres", settings["SessionStore:Postgres:ConnectionString"]!,
            "--table", settings["SessionStore:Postgres:TableName"]!,
            "--redis", settings["SessionStore:Redis:Configuration"]!,
            "--instance-name", settings["SessionStore:Redis:InstanceName"]!,
            "--phase", phase,
        ];
    }
}
