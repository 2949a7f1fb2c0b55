using System.Text.RegularExpressions;
using Npgsql;
using SessionStore.LocalServers;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Security;

/// <summary>
/// A throw-away PostgreSQL server of the security tests' own, with <c>pg_stat_statements</c> recording every
/// statement that completes (nested ones and DDL too), so that a test can list the shapes of the statements a run
/// executed and compare them with those of a run on harmless names.
/// </summary>
public sealed partial class CanaryPostgres : IAsyncLifetime
{
    private LocalPostgres? _server;
    private string _unavailable = "not started";

    public string ConnectionString => _server?.ConnectionString
        ?? throw ServerRequirement.Unavailable("PostgreSQL (with pg_stat_statements)", _unavailable, "Install PostgreSQL with its contrib modules (apt-get install postgresql).");

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        if (LocalPostgres.FindBinaries() is not { } binaries)
        {
            _unavailable = "no initdb/pg_ctl on PATH or in /usr/lib/postgresql";
            return;
        }

        try
        {
            _server = await LocalPostgres.StartAsync(binaries, extraSettings:
            [
                "shared_preload_libraries=pg_stat_statements",
                "pg_stat_statements.track=all",
                "pg_stat_statements.track_utility=on",
                "pg_stat_statements.max=50000",
            ]);
            DataSource = NpgsqlDataSource.Create(_server.ConnectionString);
            await using var command = DataSource.CreateCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception e)
        {
            _unavailable = $"{e.GetType().Name}: {e.Message}";
            _server = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await DataSource.DisposeAsync();
            await _server.DisposeAsync();
        }
    }

    /// <summary>Forgets every statement recorded so far.</summary>
    public async Task ResetAsync()
    {
        await using var command = DataSource.CreateCommand("SELECT pg_stat_statements_reset()");
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The statements recorded since the last reset, each reduced to its shape (see <see cref="Shape"/>).</summary>
    public async Task<(HashSet<string> Shapes, List<string> Texts, long Evicted)> StatementsAsync()
    {
        var texts = new List<string>();
        await using (var command = DataSource.CreateCommand("SELECT query FROM pg_stat_statements"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                texts.Add(reader.GetString(0));
            }
        }

        await using var info = DataSource.CreateCommand("SELECT dealloc FROM pg_stat_statements_info");
        var evicted = (long)(await info.ExecuteScalarAsync())!;
        return (texts.Select(Shape).ToHashSet(StringComparer.Ordinal), texts, evicted);
    }

    /// <summary>
    /// A statement with every quoted identifier, string literal and number replaced by a marker and whitespace
    /// collapsed: two statements that differ only in the names they were given have the same shape.
    /// </summary>
    public static string Shape(string statement) =>
        Whitespace().Replace(Number().Replace(Literal().Replace(QuotedIdentifier().Replace(statement, "\"?\""), "'?'"), "?"), " ").Trim();

    [GeneratedRegex("\"(?:[^\"]|\"\")*\"")]
    private static partial Regex QuotedIdentifier();

    [GeneratedRegex("'(?:[^']|'')*'")]
    private static partial Regex Literal();

    [GeneratedRegex(@"(?<![\w$])\d+(?:\.\d+)?")]
    private static partial Regex Number();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
