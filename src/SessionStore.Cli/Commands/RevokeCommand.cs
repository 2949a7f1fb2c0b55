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

            // Registered exactly as the application registers it, so the phase picks the stores the same way.
            var services = new ServiceCollection();
            services.AddDualWriteSessionStore(context.Section(parse));
            var provider = services.BuildServiceProvider();
            await using (provider.ConfigureAwait(false))
            {
                var revoked = await provider.GetRequiredService<IUserSessionRevoker>().RevokeUserSessionsAsync(userId, token).ConfigureAwait(false);
                context.Console.MarkupLine($"[green]{revoked:N0} session(s) of {Markup.Escape(userId)} revoked[/] (phase {options.Phase}).");
                return ExitCodes.Success;
            }
        });
        return command;
    }
}
