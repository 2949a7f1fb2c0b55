using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using SessionStore.Cli.Commands;
using Spectre.Console;

namespace SessionStore.Cli.Output;

/// <summary>The <c>--output</c> option, the JSON writer, and the console used when standard output is not a terminal.</summary>
internal static class CliOutput
{
    /// <summary>
    /// Wide enough that no table row or sentence of the tool is wrapped: a redirected console otherwise lays out at
    /// 80 columns, and a wrapped row is no longer one line a script can match.
    /// </summary>
    public const int PlainWidth = 4096;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>A new <c>--output</c> option, one per command (an option belongs to one command).</summary>
    public static Option<OutputFormat> CreateOption()
    {
        var option = new Option<OutputFormat>("--output")
        {
            Description = "text (default): tables for people; json: one JSON document on standard output for scripts (camelCase names, see docs/cli.md).",
            DefaultValueFactory = _ => OutputFormat.Text,
            HelpName = "text|json",
        };
        option.RefuseNumberForName();
        return option;
    }

    /// <summary>A console for a pipe or a file: no colours, no escape codes, nothing animated, and no wrapping.</summary>
    public static IAnsiConsole Plain(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = PlainWidth;
        return console;
    }

    /// <summary>
    /// Writes <paramref name="table"/> with its caption: under the table on a terminal, as a line of its own otherwise,
    /// since a caption is wrapped to the table's width whatever the console's.
    /// </summary>
    public static void WriteTable(IAnsiConsole console, Table table, string captionMarkup)
    {
        if (console.Profile.Capabilities.Interactive)
        {
            console.Write(table.Caption(captionMarkup));
            return;
        }

        console.Write(table);
        console.MarkupLine(captionMarkup);
    }

    /// <summary>
    /// <paramref name="text"/> from a server (an instance name anyone with write access to the table chose), safe to
    /// print as one cell: control and format characters (a line break that forges a row, a right-to-left override
    /// that reverses one) and box-drawing characters (a border that forges a column) are written as <c>\u</c>
    /// escapes. Markup is escaped too.
    /// </summary>
    public static string Printable(string text)
    {
        var printable = string.Concat(text.Select(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format || c is >= '\u2500' and <= '\u257f'
            ? $"\\u{(int)c:x4}"
            : c.ToString()));
        return Markup.Escape(printable);
    }

    /// <summary>Writes <paramref name="document"/> as the command's one JSON document, bypassing layout so nothing is wrapped or escaped.</summary>
    public static void WriteJson<T>(IAnsiConsole console, T document)
    {
        var writer = console.Profile.Out.Writer;
        writer.WriteLine(JsonSerializer.Serialize(document, Json));
        writer.Flush();
    }
}
