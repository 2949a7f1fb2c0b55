using SessionStore.Postgres;
using SessionStore.Postgres.Internal;

namespace SessionStore.Tests.Postgres;

/// <summary>
/// A derived relation dropped by hand is made again by the one statement that creates it: each must be found, whole,
/// and alone (a statement cut short fails; one that ran into the next altered or indexed the table in use).
/// </summary>
public sealed class SchemaRepairStatementTests
{
    [Theory]
    [InlineData(false, "expire_index", "user_index", "last_cleanup", "instances")]
    [InlineData(true, "expire_index", "user_index", "last_cleanup", "instances", "forever_partition", "partitioning")]
    public void Each_derived_relation_is_created_by_exactly_one_whole_statement(bool partitioned, params string[] placeholders)
    {
        var scripts = partitioned ? PostgresSchemaMigrator.PartitionedScripts : PostgresSchemaMigrator.PlainScripts;

        foreach (var placeholder in placeholders)
        {
            var found = scripts.Select(s => PostgresScriptTemplate.StatementCreating(s.Script, placeholder)).Where(f => f is not null).ToList();
            var statement = Assert.Single(found)!.Value.Statement;
            Assert.StartsWith("CREATE ", statement, StringComparison.Ordinal);
            Assert.EndsWith(";", statement, StringComparison.Ordinal);
            Assert.Single(statement.Split("CREATE ", StringSplitOptions.None).Skip(1));
            Assert.Equal(statement.Count(c => c == '('), statement.Count(c => c == ')'));
        }
    }

    [Fact]
    public void The_table_itself_is_no_derived_relation_and_an_unknown_name_is_created_nowhere()
    {
        Assert.Null(PostgresScriptTemplate.StatementCreating(PostgresSchemaMigrator.PlainScripts[0].Script, "user"));
        Assert.Null(PostgresScriptTemplate.StatementCreating(PostgresSchemaMigrator.PlainScripts[0].Script, "index"));
    }
}
