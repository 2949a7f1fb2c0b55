using System.Runtime.InteropServices;
using SessionStore.Cli;
using SessionStore.Cli.Output;
using Spectre.Console;

// A pipe or a file gets plain, unwrapped lines; a terminal gets colours and progress bars.
var console = Console.IsOutputRedirected ? CliOutput.Plain(Console.Out) : AnsiConsole.Console;

// A dropped ssh session sends SIGHUP, whose default ends the process at once: a copy could stop between a batch's
// insert and its check in the source. It stops the command at a safe point instead, as Ctrl+C and SIGTERM do
// (System.CommandLine handles those two).
using var hangUp = new CancellationTokenSource();
using var onHangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
{
    signal.Cancel = true;
    hangUp.Cancel();
});
return await CliApplication.RunAsync(args, console, environment: null, hangUp.Token).ConfigureAwait(false);
