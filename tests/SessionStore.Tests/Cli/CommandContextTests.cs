using System.CommandLine;
using SessionStore.Cli;
using Spectre.Console.Testing;

namespace SessionStore.Tests.Cli;

/// <summary>How a command's failures become one line and an exit code, whatever the command.</summary>
public sealed class CommandContextTests
{
    [Fact]
    public async Task A_failure_the_tool_does_not_expect_is_one_line_with_exit_5_and_no_stack_trace()
    {
        var console = new TestConsole();
        console.Profile.Width = 200;
        var context = new CommandContext(new CliSettings(), console, new Dictionary<string, string?>(), TimeSpan.FromSeconds(1));
        var command = new Command("fails");
        context.SetAction(command, (_, _) => throw new FormatException("a format nobody expected"));

        var exitCode = await command.Parse([]).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);

        // Not 1, which verify's caller reads as "ran and found mismatches"; not System.CommandLine's stack trace.
        Assert.Equal(ExitCodes.UnexpectedError, exitCode);
        var line = Assert.Single(console.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: unexpected System.FormatException: a format nobody expected", line, StringComparison.Ordinal);
    }
}
