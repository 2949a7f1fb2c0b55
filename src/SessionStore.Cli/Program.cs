using SessionStore.Cli;
using SessionStore.Cli.Output;
using Spectre.Console;

// A pipe or a file gets plain, unwrapped lines; a terminal gets colours and progress bars.
var console = Console.IsOutputRedirected ? CliOutput.Plain(Console.Out) : AnsiConsole.Console;
return await CliApplication.RunAsync(args, console, environment: null, CancellationToken.None).ConfigureAwait(false);
