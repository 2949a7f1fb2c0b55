using System.CommandLine;
using System.CommandLine.Help;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.Cli.Commands;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Redis;
using Spectre.Console;
using StackExchange.Redis;

namespace SessionStore.Cli;

/// <summary>The <c>sessionstore</c> command line: parsing, the commands, and the mapping of failures to exit codes.</summary>
internal static class CliApplication
{
    /// <summary>How long Ctrl+C waits for a command to stop at a safe point (a copy: the end of its batch) before the process exits anyway.</summary>
    public static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(30);

    /// <summary>Runs one command line and returns its exit code (see <see cref="ExitCodes"/>).</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="console">Where everything is written.</param>
    /// <param name="environment">Environment variables to read instead of the process's own (for tests); null reads the real ones.</param>
    /// <param name="cancellationToken">Interrupts the command, as Ctrl+C does.</param>
    /// <param name="gracefulStop">How long an interrupted command may take to stop; <see cref="GracefulStop"/> unless a test says otherwise.</param>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, IReadOnlyDictionary<string, string?>? environment, CancellationToken cancellationToken, TimeSpan? gracefulStop = null)
    {
        // Numbers take "." for decimals on every machine (docs/cli.md): under a German locale "0.05" read as 5, and
        // "--rate 0.0001" as 1. Set here, the culture flows to this call only, not to its caller.
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        var settings = new CliSettings();
        var context = new CommandContext(settings, console, environment, gracefulStop ?? GracefulStop);
        // Not a RootCommand, which names itself after the assembly: help should show the tool's command name.
        var root = new Command("sessionstore", "Operations around a Redis-to-PostgreSQL session migration with SessionStore.")
        {
            new HelpOption(),
            new VersionOption(),
            MigrateCommand.Create(context),
            BackfillCommand.Create(context),
            SyncCommand.Create(context),
            VerifyCommand.Create(context),
            RevokeCommand.Create(context),
            StatsCommand.Create(context),
            StatusCommand.Create(context),
        };
        foreach (var option in settings.All)
        {
            root.Options.Add(option);
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                console.MarkupLine($"[red]error:[/] {Markup.Escape(error.Message)}");
            }

            console.MarkupLine("Run [bold]sessionstore --help[/] for the commands and their options.");
            return ExitCodes.UsageError;
        }

        // Help and version go through System.CommandLine's own writer, straight to the console's: already laid out.
        var output = console.Profile.Out.Writer;
        // Ctrl+C lets a copy finish the batch in progress, whose insert must not land without its check in the source:
        // System.CommandLine's default 2 s ended the process while a hung server held the batch's statements. Each
        // command's own grace (CommandContext.SetAction) ends first and says so; this one, later, is only a backstop
        // (it ends the process without a word).
        var invocation = new InvocationConfiguration { Output = output, Error = output, ProcessTerminationTimeout = GracefulStop + TimeSpan.FromSeconds(5) };
        return await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>What a command needs: the shared options, the console, and a way to run its body with uniform error handling.</summary>
internal sealed class CommandContext(CliSettings settings, IAnsiConsole console, IReadOnlyDictionary<string, string?>? environment, TimeSpan gracefulStop)
{
    // Set by the command's body, read by the action once the grace period is over: a reference, so read whole.
    private volatile Abandonment? _abandonment;
    private volatile bool _isAbandoned;

    public CliSettings Settings => settings;

    public IAnsiConsole Console => console;

    public SessionStoreOptions Options(ParseResult parse) => settings.Options(parse, environment);

    public Microsoft.Extensions.Configuration.IConfigurationSection Section(ParseResult parse) => settings.Section(parse, environment);

    /// <summary>
    /// What the running command prints if it is left behind after the grace period: its summary so far, before the
    /// message; or, when <paramref name="isDocument"/>, its one JSON document instead of it.
    /// </summary>
    public void WhenAbandoned(Action write, bool isDocument = false) => _abandonment = new Abandonment(write, isDocument);

    /// <summary>
    /// Whether the command was left behind after the grace period: what it would print when it ends after all (its
    /// own summary, document or error) must not follow what was printed for it.
    /// </summary>
    public bool IsAbandoned => _isAbandoned;

    /// <summary>
    /// Sets a command's action: runs <paramref name="body"/> and turns its failures into messages and exit codes. An
    /// interrupted command that has not stopped within the grace period (a copy's batch waiting on a hung server's
    /// statements) is left behind with a message, rather than the process ending without a word.
    /// </summary>
    public void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, token) =>
        {
            using var finished = new CancellationTokenSource();
            var run = RunAsync(body, parse, token);
            await Task.WhenAny(run, GraceAfterInterruptAsync(token, finished.Token)).ConfigureAwait(false);
            await finished.CancelAsync().ConfigureAwait(false);
            if (run.IsCompleted)
            {
                return await run.ConfigureAwait(false);
            }

            _isAbandoned = true;
            var abandonment = _abandonment;
            abandonment?.Write();
            if (abandonment is { IsDocument: true })
            {
                return ExitCodes.Interrupted;
            }

            console.MarkupLine(
                $"[red]Interrupted, but the command did not stop within {gracefulStop.TotalSeconds:0} s[/]: a server does not answer, and the batch in progress waits for its statements' OperationTimeout. " +
                "Exiting without it. A session signed out during that batch may have been copied without the check that takes it back: once the servers answer, " +
                "run [bold]sessionstore verify --full[/] (it lists sessions only the copy holds), then the same command again to resume from its checkpoint.");
            return ExitCodes.Interrupted;
        });

    /// <summary>Completes the grace period after <paramref name="interrupted"/> is cancelled, or once <paramref name="finished"/> is.</summary>
    private async Task GraceAfterInterruptAsync(CancellationToken interrupted, CancellationToken finished)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(interrupted, finished);
        await Task.Delay(Timeout.InfiniteTimeSpan, either.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.Delay(gracefulStop, finished).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Runs a command's body, turning its failures into messages and exit codes.</summary>
    private async Task<int> RunAsync(Func<ParseResult, CancellationToken, Task<int>> body, ParseResult parse, CancellationToken token)
    {
        try
        {
            return await body(parse, token).ConfigureAwait(false);
        }
        catch (Exception) when (_isAbandoned)
        {
            // It ended after all, past the grace period: what was printed for it stands alone.
            return ExitCodes.Interrupted;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            console.MarkupLine("[yellow]Interrupted.[/]");
            return ExitCodes.Interrupted;
        }
        catch (Exception e) when (e is CliUsageException or OptionsValidationException or ArgumentException or InvalidOperationException)
        {
            // An ArgumentException's message ends with the library's parameter name, which says nothing to an operator.
            var message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
            console.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
            return ExitCodes.UsageError;
        }
        catch (Exception e) when (e is NpgsqlException or RedisException or RedisSessionCacheException or SocketException or TimeoutException)
        {
            var store = StoreOf(e);
            // A timeout names no setting the operator can change (a driver's says only "Exception while reading from stream"): name it.
            var section = store switch { "PostgreSQL" => "Postgres", "Redis" => "Redis", _ => null };
            var setting = e is SessionStoreTimeoutException { Setting: { } named and not nameof(SessionCacheProviderOptions.OperationTimeout) }
                ? $"SessionStore:{named}"
                : $"SessionStore:{section}:OperationTimeout";
            var timedOut = section is not null && (e is SessionStoreTimeoutException || StoreDeadline.IsDriverTimeout(e));
            // --timeout sets both OperationTimeouts: when given, it is the bound in force, and the one to name.
            var bound = !timedOut ? ""
                : !setting.EndsWith(":OperationTimeout", StringComparison.Ordinal) ? $" (no answer within {setting}; raise it to wait longer)"
                : parse.GetValue(settings.Timeout) is { } given ? $" (no answer within --timeout {given}; give a longer one to wait longer)"
                : $" (no answer within {setting}; raise it, or give --timeout, to wait longer)";
            console.MarkupLine($"[red]error:[/] {store} could not be reached or failed: {Markup.Escape(e.Message + bound)}");
            return ExitCodes.ServerError;
        }
        catch (Exception e)
        {
            // Last resort: System.CommandLine would print "Unhandled exception" and a stack trace, and exit 1, which
            // verify's caller reads as "ran and found mismatches".
            console.MarkupLine($"[red]error:[/] unexpected {Markup.Escape(e.GetType().FullName ?? e.GetType().Name)}: {Markup.Escape(e.Message)} (a case the tool does not handle; please report it)");
            return ExitCodes.UnexpectedError;
        }
    }

    /// <summary>Which store a failure came from, for the operator to know where to look: its own type or an inner one says.</summary>
    private static string StoreOf(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case SessionStoreTimeoutException { Store: "postgresql" }:
                case NpgsqlException:
                    return "PostgreSQL";
                case SessionStoreTimeoutException { Store: "redis" }:
                case RedisException or RedisSessionCacheException or RedisTimeoutException:
                    return "Redis";
            }
        }

        return "a server";
    }

    /// <summary>What keeps either store from being built, each named by its configuration section.</summary>
    public static IEnumerable<string> BothStoresFailures(SessionStoreOptions options) =>
        PostgresFailures(options.Postgres).Concat(RedisFailures(options.Redis));

    /// <summary>What keeps the PostgreSQL store from being built; <paramref name="why"/> says why the command needs it.</summary>
    public static IEnumerable<string> PostgresFailures(PostgresSessionCacheOptions options, string? why = null) =>
        Named(options.Validate(), "Postgres", "ConnectionString", $"{why}{SetPostgres}");

    /// <summary>What keeps the table's script from being written: as <see cref="PostgresFailures"/>, but no connection is needed.</summary>
    public static IEnumerable<string> PostgresScriptFailures(PostgresSessionCacheOptions options) =>
        Named(options.ValidateForScript(), "Postgres", "ConnectionString", SetPostgres);

    private const string SetPostgres = "set --postgres or SessionStore:Postgres:ConnectionString";

    private static IEnumerable<string> RedisFailures(RedisSessionCacheOptions options) =>
        Named(options.Validate(), "Redis", "Configuration", "set --redis or SessionStore:Redis:Configuration");

    /// <summary>Each failure under its section's name; the flag that sets the connection only beside a failure about it, not beside a bad timeout.</summary>
    private static IEnumerable<string> Named(IEnumerable<string> failures, string section, string connectionKey, string hint) =>
        failures.Select(f => f.Contains(connectionKey, StringComparison.Ordinal) ? $"SessionStore:{section}: {f} ({hint})" : $"SessionStore:{section}: {f}");

    /// <summary>Fails with exit code 2, listing each problem, when the options cannot build the stores needed.</summary>
    public static void ThrowIfInvalid(IEnumerable<string> failures)
    {
        var list = failures.ToList();
        if (list.Count > 0)
        {
            throw new CliUsageException(string.Join(Environment.NewLine, list));
        }
    }
}

/// <summary>What a command left behind after the grace period prints: see <see cref="CommandContext.WhenAbandoned"/>.</summary>
internal sealed record Abandonment(Action Write, bool IsDocument);
