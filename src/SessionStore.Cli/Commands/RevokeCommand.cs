using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;
using Spectre.Console;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore revoke --user ID</c>: logs a user out everywhere, in every store the phase uses.</summary>
internal static class RevokeCommand
{
    public static Command Create(CommandContext context)
    {
        var user = new Option<string>("--user") { Description = "The user id, as the sessions store it under UserIdSessionKey.", Required = true };
        user.Refuse(value => string.IsNullOrWhiteSpace(value) ? $"--user is '{value}'; give the user id, as the sessions store it under UserIdSessionKey." : null);
        var command = new Command("revoke", "Log a user out everywhere: delete their sessions in every store the current phase uses.") { user };
        context.SetAction(command, async (parse, token) =>
        {
            var userId = parse.GetValue(user)!;
            var options = context.Options(parse);
            CommandContext.ThrowIfInvalid(options.Validate());
            CommandContext.ThrowIfInvalid(MissingUserIdSessionKeys(options));

            // Registered exactly as the application registers it, so the phase picks the stores the same way.
            var services = new ServiceCollection();
            services.AddDualWriteSessionStore(context.Section(parse));
            var provider = services.BuildServiceProvider();
            await using (provider.ConfigureAwait(false))
            {
                var outcomes = await provider.GetRequiredService<DualWriteCache>().RevokeInEachStoreAsync(userId, token).ConfigureAwait(false);
                return Report(context.Console, options.Phase, outcomes);
            }
        });
        return command;
    }

    /// <summary>
    /// One line per store, so that a revoke that failed in one store still says what the other did (the user is
    /// signed out there already; running it again is safe). The user id is not echoed: this output ends up in terminal
    /// logs and CI records. A failure is then thrown, for the usual message naming the store and the exit code 3.
    /// </summary>
    private static int Report(IAnsiConsole console, SessionStorePhase phase, IReadOnlyList<StoreRevocation> outcomes)
    {
        foreach (var outcome in outcomes)
        {
            var store = outcome.Store == "redis" ? "Redis" : "PostgreSQL";
            var role = outcome.Role == StoreRole.Idle ? $"not used by phase {phase}" : outcome.Role.ToString().ToLowerInvariant();
            console.MarkupLine(outcome switch
            {
                { Revoked: { } revoked } => $"[green]{store}[/] ({role}): {revoked:N0} session(s) of the user revoked.",
                { Error: { }, Role: not StoreRole.Idle } => $"[red]{store}[/] ({role}): not revoked, the store failed (below).",
                _ => $"[red]{store}[/] ({role}): not revoked: it failed or did not answer within SessionStore:SecondaryTimeout (the log says which). Run this again once it answers (or remove its settings if it is retired): a copy left there is read back after a step back.",
            });
        }

        // An idle store's failure is the line above: this process ends, so no catch-up will make it, whatever the error says.
        if (outcomes.FirstOrDefault(o => o.Error is not null && o.Role != StoreRole.Idle)?.Error is { } error)
        {
            if (outcomes.Any(o => o.Revoked is not null))
            {
                console.MarkupLine("[yellow]The revoke is incomplete:[/] the stores above that say so are done; run it again once the failed store answers.");
            }

            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }

        return outcomes.All(o => o.Revoked is not null) ? ExitCodes.Success : ExitCodes.ServerError;
    }

    /// <summary>
    /// Without a user key no store records whose a session is: a revoke would find nothing and still say it succeeded
    /// (and delete the Redis index, leaving the sessions alive), so it is refused before anything is touched.
    /// </summary>
    private static IEnumerable<string> MissingUserIdSessionKeys(SessionStoreOptions options)
    {
        var usesPostgres = options.Phase is not SessionStorePhase.RedisOnly;
        var usesRedis = options.Phase is not SessionStorePhase.PostgresOnly;
        if (usesPostgres && (options.Postgres.UserIdSessionKey ?? options.UserIdSessionKey) is null)
        {
            yield return $"SessionStore:UserIdSessionKey (or SessionStore:Postgres:UserIdSessionKey) is not set: PostgreSQL records no user for phase {options.Phase}, so revoke cannot find a user's sessions. Set it to the session key naming the user, as the application does.";
        }

        if (usesRedis && (options.Redis.UserIdSessionKey ?? options.UserIdSessionKey) is null)
        {
            yield return $"SessionStore:UserIdSessionKey (or SessionStore:Redis:UserIdSessionKey) is not set: Redis keeps no per-user index for phase {options.Phase}, so revoke cannot find a user's sessions. Set it to the session key naming the user, as the application does.";
        }
    }
}
