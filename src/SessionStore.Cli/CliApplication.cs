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
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, IReadOnlyDictionary<string, string?>? environment, CancellationToken cancellationToken)
    {
        var settings = new CliSettings();
        var context = new CommandContext(settings, console, environment);
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
        // System.CommandLine's default 2 s ended the process while a hung server held the batch's statements.
        var invocation = new InvocationConfiguration { Output = output, Error = output, ProcessTerminationTimeout = GracefulStop };
        return await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>What a command needs: the shared options, the console, and a way to run its body with uniform error handling.</summary>
internal sealed class CommandContext(CliSettings settings, IAnsiConsole console, IReadOnlyDictionary<string, string?>? environment)
{
    public CliSettings Settings => settings;

    public IAnsiConsole Console => console;

    public SessionStoreOptions Options(ParseResult parse) => settings.Options(parse, environment);

    public Microsoft.Extensions.Configuration.IConfigurationSection Section(ParseResult parse) => settings.Section(parse, environment);

    /// <summary>Sets a command's action: runs <paramref name="body"/> and turns its failures into messages and exit codes.</summary>
    public void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, token) =>
        {
            try
            {
                return await body(parse, token).ConfigureAwait(false);
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
                var bound = section is not null && (e is SessionStoreTimeoutException || StoreDeadline.IsDriverTimeout(e))
                    ? $" (no answer within {setting}; raise it{(setting.EndsWith(":OperationTimeout", StringComparison.Ordinal) ? ", or give --timeout," : "")} to wait longer)"
                    : "";
                console.MarkupLine($"[red]error:[/] {store} could not be reached or failed: {Markup.Escape(e.Message + bound)}");
                return ExitCodes.ServerError;
            }
        });

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
        Named(options.Validate(), "Postgres", "ConnectionString", $"{why}set --postgres or SessionStore:Postgres:ConnectionString");

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
