using System.CommandLine;

namespace SessionStore.Cli.Commands;

/// <summary>Checks of an option's value beyond its type, each with the message that says what is allowed.</summary>
internal static class OptionChecks
{
    /// <summary>
    /// Refuses a value for which <paramref name="problem"/> returns a message. A value that did not even parse is
    /// left to its own parse error: System.CommandLine runs validators on it too (dotnet/command-line-api#2645),
    /// and reading it there throws, which printed a stack trace and ended the process (exit 134) instead of exit 2.
    /// </summary>
    public static void Refuse<T>(this Option<T> option, Func<T, string?> problem) =>
        option.Validators.Add(result =>
        {
            T value;
            try
            {
                value = result.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                return;
            }

            if (problem(value) is { } message)
            {
                result.AddError(message);
            }
        });

    /// <summary>
    /// Refuses a duration typed as a bare number: TimeSpan reads "30" as 30 days, which the operator who typed it
    /// never meant (as <c>--timeout</c> does).
    /// </summary>
    public static void RefuseBareNumber(this Option<TimeSpan> option, string example) =>
        option.Validators.Add(result =>
        {
            if (result.Tokens is [var token] && !IsClockDuration(token.Value))
            {
                result.AddError(NotADuration(option.Name, token.Value, example));
            }
        });

    /// <summary>
    /// Refuses a number written with a group separator: .NET reads "5,000" as 5000 and "0,5" as 5, which an operator
    /// used to a decimal comma never meant (<c>--rate 0,5</c> ran at 5 sessions a second).
    /// </summary>
    public static void RefuseGroupedNumber<T>(this Option<T> option, string example) =>
        option.Validators.Add(result =>
        {
            if (result.Tokens is [var token] && token.Value.Contains(',', StringComparison.Ordinal))
            {
                result.AddError($"{option.Name} is '{token.Value}'; write a number without separators, with '.' for decimals, e.g. {example}.");
            }
        });

    /// <summary>Refuses an enum option given a number: .NET parses "5" as a value no name has, which then silently meant the default.</summary>
    public static void RefuseNumberForName<T>(this Option<T> option)
        where T : struct, Enum =>
        option.Validators.Add(result =>
        {
            if (result.Tokens is [var token] && !Enum.GetNames<T>().Contains(token.Value, StringComparer.OrdinalIgnoreCase))
            {
                result.AddError($"{option.Name} is '{token.Value}'; allowed: {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");
            }
        });

    /// <summary>Whether <paramref name="text"/> is written as hh:mm:ss: a bare number is not, whatever TimeSpan makes of it.</summary>
    public static bool IsClockDuration(string text) => text.Contains(':', StringComparison.Ordinal);

    /// <summary>The error for a duration option given something else.</summary>
    public static string NotADuration(string option, string text, string example) =>
        $"{option} is '{text}', which is not a duration: give it as hh:mm:ss, e.g. {example}.";
}
