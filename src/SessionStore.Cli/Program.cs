using SessionStore.Cli;
using Spectre.Console;

return await CliApplication.RunAsync(args, AnsiConsole.Console, environment: null, CancellationToken.None).ConfigureAwait(false);
