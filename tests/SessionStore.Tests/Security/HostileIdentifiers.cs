using System.Text;

namespace SessionStore.Tests.Security;

/// <summary>
/// Schema and table names an attacker or a tired operator could configure: quotes, the schema scripts' placeholder
/// syntax, statement separators, comments, dollar quotes, backslashes, unicode, NUL, whitespace, case, reserved
/// words, and lengths either side of PostgreSQL's 63-byte limit. Each fragment is also tried inside other text.
/// </summary>
public static class HostileIdentifiers
{
    /// <summary>A file an injected <c>COPY … TO</c> would write; it must never exist.</summary>
    public static readonly string CanaryFile = Path.Combine(Path.GetTempPath(), "sessionstore-canary-copy");

    /// <summary>A table an injected statement would create; it must never exist.</summary>
    public const string CanaryTable = "sessionstore_canary_pwned";

    private static readonly string[] Fragments =
    [
        // Quotes and breaking out of them.
        "\"", "\"\"", "a\"b", "\"; SELECT pg_sleep(3); --", "x\" (id int); SELECT pg_sleep(3); CREATE TABLE " + CanaryTable + " (\"",
        "'", "a'b", "'; SELECT pg_sleep(3); --", "`", "[x]",
        // The placeholders of the schema scripts, known and unknown, whole and broken.
        "{{table}}", "{{expire_index}}", "{{user_index}}", "{{forever_partition}}", "{{partitioning}}", "{{last_cleanup}}",
        "{{payload_type}}", "{{schema}}", "{{nope}}", "{{", "}}", "{ {table} }", "{{ table }}", "{table}",
        "x\" (id int); SELECT pg_sleep(3); --{{expire_index}}",
        "{{expire_index}}\" ON x; COPY (SELECT 1) TO '" + CanaryFile + "'; --",
        // Statement separators, comments, dollar quotes, parameters, backslashes.
        ";", "a;b", "; DROP SCHEMA public CASCADE", "--", "a--b", "/*", "*/", "/* c */", "$$", "$x$", "$1", "?",
        "\\", "\\\\", "a\\b", "\\\"", "\\'", "%s", "%",
        "COPY (SELECT 1) TO '" + CanaryFile + "'", "CREATE TABLE " + CanaryTable,
        // NUL and other control characters.
        "\0", "a\0b", "\u0001", "\u001b[31m", "\u007f",
        // Unicode: accents, combining marks, right-to-left text and overrides, emoji, zero-width characters, BOM, lone surrogates.
        "é", "e\u0301", "\u202Eevil", "שלום", "مرحبا", "😀", "👨‍👩‍👧", "\uFEFF", "\u200B", "\u200D", "İ", "ß", "ǅ", "\uD800", "\uDC00x",
        // Whitespace.
        " ", "  ", "\t", "\n", "\r\n", " lead", "trail ", "\u00A0", "\u3000",
        // Case and reserved words.
        "UPPER", "MixedCase", "select", "table", "user", "order", "public", "pg_class", "null", "NULL", "true", "1", "0x1",
    ];

    private static readonly Func<string, string>[] Wrappers =
    [
        f => f,
        f => "t_" + f,
        f => "\"" + f + "\"",
    ];

    /// <summary>Every hostile name, each once.</summary>
    public static IReadOnlyList<string> All { get; } = Build();

    /// <summary>A name of exactly <paramref name="bytes"/> UTF-8 bytes, made of <paramref name="unit"/> and ASCII padding.</summary>
    public static string OfBytes(int bytes, string unit)
    {
        var builder = new StringBuilder();
        while (Encoding.UTF8.GetByteCount(builder.ToString() + unit) <= bytes)
        {
            builder.Append(unit);
        }

        while (Encoding.UTF8.GetByteCount(builder.ToString()) < bytes)
        {
            builder.Append('x');
        }

        return builder.ToString();
    }

    /// <summary>How a name looks in a test report: control characters and lone surrogates escaped.</summary>
    public static string Describe(string value)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                builder.Append(c).Append(value[++i]);
            }
            else if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u202E' or '\uFEFF' or '\u200B' or '\u200D' or '\u00A0' or '\u3000')
            {
                builder.Append($"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return $"[{builder}] ({Encoding.UTF8.GetByteCount(value)} B)";
    }

    private static List<string> Build()
    {
        var names = new List<string>();
        foreach (var fragment in Fragments)
        {
            names.AddRange(Wrappers.Select(wrap => wrap(fragment)));
        }

        // Either side of each limit: 48 (partitioned table), 50 (table), 63 (PostgreSQL); in ASCII and in multi-byte text.
        foreach (var bytes in new[] { 47, 48, 49, 50, 51, 62, 63, 64, 65, 200 })
        {
            names.Add(OfBytes(bytes, "a"));
            names.Add(OfBytes(bytes, "é"));
            names.Add(OfBytes(bytes, "€"));
            names.Add(OfBytes(bytes, "😀"));
            names.Add(OfBytes(bytes, "\""));
        }

        names.Add("");
        return names.Distinct(StringComparer.Ordinal).ToList();
    }
}
