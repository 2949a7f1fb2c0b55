using Npgsql;
using SessionStore.Postgres;
using SessionStore.Postgres.Internal;
using SessionStore.Tests.Cli;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Security;

/// <summary>The identifier rules and the one-pass rendering of the schema scripts, each by the input that once broke them.</summary>
public sealed class SqlIdentifierTests(PostgresServer server)
{
    private static readonly NpgsqlDataSource Offline = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1");

    [Theory]
    [InlineData("x{{expire_index}}")]
    [InlineData("{{table}}")]
    [InlineData("s}}")]
    public void A_table_name_holding_the_placeholder_syntax_is_refused_before_any_IO(string table)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => new PostgresSchemaMigrator(Offline, "public", table));

        Assert.Contains($"TableName '{table}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("placeholder syntax", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_holding_placeholder_syntax_is_put_in_once_and_never_read_again()
    {
        var rendered = PostgresScriptTemplate.Render(
            "CREATE TABLE {{table}} (); CREATE INDEX {{expire_index}} ON {{table}} (x);",
            new Dictionary<string, string> { ["table"] = "\"{{expire_index}}\"", ["expire_index"] = "\"i\"; SELECT pg_sleep(3); --\"" });

        Assert.Equal("CREATE TABLE \"{{expire_index}}\" (); CREATE INDEX \"i\"; SELECT pg_sleep(3); --\" ON \"{{expire_index}}\" (x);", rendered);
    }

    [Fact]
    public void An_unknown_placeholder_in_a_script_fails_naming_it()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PostgresScriptTemplate.Render("SELECT {{nope}}", new Dictionary<string, string> { ["table"] = "t" }));

        Assert.Contains("{{nope}}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\"b", "\"a\"\"b\"")]
    [InlineData("\"", "\"\"\"\"")]
    [InlineData("Mixed Case; --", "\"Mixed Case; --\"")]
    public void Quoting_doubles_each_double_quote_and_nothing_else(string name, string quoted) =>
        Assert.Equal(quoted, PostgresIdentifier.Create("TableName", name).Quoted);

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("a\0b", "contains a NUL character")]
    [InlineData("{{", "placeholder syntax")]
    public void Each_rule_is_named_in_the_error(string name, string rule)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => PostgresIdentifier.Create("TableName", name));

        Assert.Contains("TableName", error.Message, StringComparison.Ordinal);
        Assert.Contains(rule, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lone_surrogate_is_refused_with_the_rule_named()
    {
        // Not inline data: the test framework's serialization would replace the surrogate before the test sees it.
        var error = Assert.ThrowsAny<ArgumentException>(() => PostgresIdentifier.Create("TableName", "a\uD800"));

        Assert.Contains("lone surrogate", error.Message, StringComparison.Ordinal);
        Assert.Contains("a\\uD800", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(63, true)]
    [InlineData(64, false)]
    public void A_schema_name_may_have_63_bytes_of_UTF8_and_no_more(int bytes, bool accepted)
    {
        var name = HostileIdentifiers.OfBytes(bytes, "é");
        var options = new PostgresSessionCacheOptions { ConnectionString = "Host=x", SchemaName = name };

        Assert.Equal(accepted, options.Validate().Count == 0);
    }

    [Theory]
    [InlineData(50, true)]
    [InlineData(51, false)]
    public void A_table_name_may_have_50_bytes_so_that_every_derived_name_fits(int bytes, bool accepted)
    {
        var name = HostileIdentifiers.OfBytes(bytes, "€");
        var options = new PostgresSessionCacheOptions { ConnectionString = "Host=x", TableName = name };

        Assert.Equal(accepted, options.Validate().Count == 0);
        if (accepted)
        {
            Assert.All(new[] { "_expire_idx", "_user_id_idx", "_forever", "_partitioning", "_last_cleanup" },
                suffix => Assert.True(System.Text.Encoding.UTF8.GetByteCount(name + suffix) <= 63, suffix));
        }
    }

    [Fact]
    public void A_schema_name_starting_with_pg_is_refused_because_PostgreSQL_reserves_it()
    {
        var options = new PostgresSessionCacheOptions { ConnectionString = "Host=x", SchemaName = "pg_sessions" };

        Assert.Contains(options.Validate(), f => f.Contains("SchemaName 'pg_sessions'", StringComparison.Ordinal) && f.Contains("reserves", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Migrate_with_a_placeholder_in_the_table_exits_with_2_naming_the_value_and_the_rule()
    {
        var (exitCode, output) = await CliRunner.RunAsync(new Dictionary<string, string?>(), TestContext.Current.CancellationToken,
            "migrate", "--postgres", "Host=127.0.0.1;Port=1", "--table", "x{{expire_index}}");

        Assert.Equal(2, exitCode);
        Assert.Contains("TableName 'x{{expire_index}}'", output, StringComparison.Ordinal);
        Assert.Contains("placeholder syntax", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_dry_run_with_PayloadFormat_Bytea_shows_a_bytea_column_and_no_template_note()
    {
        var (exitCode, output) = await CliRunner.RunAsync(
            new Dictionary<string, string?> { ["SessionStore__Postgres__PayloadFormat"] = "Bytea" }, TestContext.Current.CancellationToken,
            "migrate", "--dry-run", "--table", "bytea_sessions");

        Assert.Equal(0, exitCode);
        Assert.Contains("sess               bytea NOT NULL", output, StringComparison.Ordinal);
        Assert.DoesNotContain("jsonb", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Placeholders", output, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_with_PayloadFormat_Bytea_creates_a_bytea_column()
    {
        var table = PostgresServer.UniqueTableName("bytea");
        var (exitCode, output) = await CliRunner.RunAsync(
            new Dictionary<string, string?> { ["SessionStore__Postgres__PayloadFormat"] = "Bytea" }, TestContext.Current.CancellationToken,
            "migrate", "--postgres", server.ConnectionString, "--table", table);

        Assert.True(exitCode == 0, output);
        await using var command = server.DataSource.CreateCommand(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'sess'");
        command.Parameters.Add(new NpgsqlParameter { Value = $"public.\"{table}\"" });
        Assert.Equal("bytea", await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }
}
