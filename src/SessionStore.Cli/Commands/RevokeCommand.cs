using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace SessionStore.Cli.Commands;

/// <summary><c>sessionstore revoke --user ID</c>: logs a user out everywhere, in every store the phase uses.</summary>
internal static class RevokeCommand
{
    public static Command Create(CommandContext context)
    {
        var user = new Option<string>("--user") { Description = "The user id, as the sessions store it under UserIdSessionKey.", Required = true };
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
                var revoked = await provider.GetRequiredService<IUserSessionRevoker>().RevokeUserSessionsAsync(userId, token).ConfigureAwait(false);

                // The user id is not echoed: this output ends up in terminal logs and CI records.
                context.Console.MarkupLine($"[green]{revoked:N0} session(s) of the user revoked[/] (phase {options.Phase}).");
                return ExitCodes.Success;
            }
        });
        return command;
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
