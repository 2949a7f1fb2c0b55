using System.Globalization;
using System.Text;

namespace SessionStore.Postgres.Internal;

/// <summary>
/// A PostgreSQL identifier (schema, table, index, partition) from configuration: validated once when it is made
/// and quoted once, so that no value can change the shape of a statement it is put into. Every statement built
/// from a configured name takes it from here.
/// </summary>
internal sealed class PostgresIdentifier
{
    /// <summary>PostgreSQL's identifier limit (NAMEDATALEN - 1); a longer name is silently truncated by the server.</summary>
    public const int MaximumBytes = 63;

    private PostgresIdentifier(string name)
    {
        Name = name;
        Quoted = "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>The name as PostgreSQL stores it in the catalog.</summary>
    public string Name { get; }

    /// <summary>The name as it goes into SQL text: in double quotes, each double quote doubled.</summary>
    public string Quoted { get; }

    /// <summary>The validated identifier; throws naming <paramref name="option"/>, the value and the rule it breaks.</summary>
    /// <param name="option">The option the value came from, for the message (e.g. <c>TableName</c>).</param>
    /// <param name="value">The identifier, unquoted.</param>
    /// <param name="maximumBytes">The most UTF-8 bytes allowed, at most <see cref="MaximumBytes"/>.</param>
    /// <exception cref="ArgumentException">The value breaks a rule; the message says which.</exception>
    public static PostgresIdentifier Create(string option, string? value, int maximumBytes = MaximumBytes) =>
        Problem(option, value, maximumBytes) is { } problem
            ? throw new ArgumentException(problem, option)
            : new PostgresIdentifier(value!);

    /// <summary>A schema name: an identifier that also avoids the prefix PostgreSQL keeps for its own schemas.</summary>
    /// <exception cref="ArgumentException">The value breaks a rule; the message says which.</exception>
    public static PostgresIdentifier CreateSchema(string option, string? value) =>
        SchemaProblem(option, value) is { } problem ? throw new ArgumentException(problem, option) : new PostgresIdentifier(value!);

    /// <summary>Why <paramref name="value"/> cannot name a schema, or null when it can.</summary>
    public static string? SchemaProblem(string option, string? value) =>
        Problem(option, value) ?? (value!.StartsWith("pg_", StringComparison.Ordinal)
            ? $"{option} '{Display(value)}' starts with 'pg_', which PostgreSQL reserves for system schemas."
            : null);

    /// <summary>A name read back from the catalog (a partition): PostgreSQL already holds it, so it only needs quoting.</summary>
    public static PostgresIdentifier FromCatalog(string name) => new(name);

    /// <summary>This name with a fixed ASCII suffix (an index or a side table derived from a table name).</summary>
    public PostgresIdentifier WithSuffix(string suffix) => Create("derived name", Name + suffix);

    /// <summary>Why <paramref name="value"/> cannot be used as an identifier, or null when it can.</summary>
    public static string? Problem(string option, string? value, int maximumBytes = MaximumBytes)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{option} is empty; it must name a PostgreSQL identifier.";
        }

        if (value.Contains('\0', StringComparison.Ordinal))
        {
            return $"{option} '{Display(value)}' contains a NUL character, which PostgreSQL identifiers cannot hold.";
        }

        if (HasLoneSurrogate(value))
        {
            return $"{option} '{Display(value)}' is not valid UTF-16 (it holds a lone surrogate), so it has no UTF-8 form PostgreSQL could store.";
        }

        // Quoted, " sessions" is another table than "sessions": a stray space in the configuration would start an empty
        // table and sign every user out. No one means one.
        if (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
        {
            return $"{option} '{Display(value)}' begins or ends with white space; remove it (a name may hold spaces only between other characters).";
        }

        // The schema scripts mark their placeholders this way; a name holding the syntax has no business in one.
        if (value.Contains("{{", StringComparison.Ordinal) || value.Contains("}}", StringComparison.Ordinal))
        {
            return $"{option} '{Display(value)}' contains '{{{{' or '}}}}', the placeholder syntax of the schema scripts, which identifiers may not hold.";
        }

        var bytes = Encoding.UTF8.GetByteCount(value);
        return bytes > maximumBytes
            ? $"{option} '{Display(value)}' is {bytes} bytes of UTF-8; at most {maximumBytes} are allowed."
            : null;
    }

    /// <summary>The quoted form.</summary>
    public override string ToString() => Quoted;

    /// <summary>The value for a message: control characters escaped, so that a log line stays one line.</summary>
    private static string Display(string value)
    {
        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                builder.Append(c).Append(value[++i]);
            }
            else if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static bool HasLoneSurrogate(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return true;
            }
        }

        return false;
    }
}
