using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

public sealed class PostgresSchemaMigratorTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Migrating_twice_applies_the_scripts_once()
    {
        var migrator = new PostgresSchemaMigrator(server.DataSource, "public", PostgresServer.UniqueTableName("m"));

        Assert.Equal(Enumerable.Range(1, PostgresSchemaMigrator.LatestVersion), await migrator.MigrateAsync(Token));
        Assert.Empty(await migrator.MigrateAsync(Token));
        Assert.Empty(migrator.Migrate());
    }

    [Fact]
    public async Task Instances_starting_together_create_the_table_exactly_once()
    {
        var tableName = PostgresServer.UniqueTableName("m");
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            new PostgresSchemaMigrator(server.DataSource, "concurrent migrations", tableName).MigrateAsync(Token)));

        Assert.Single(results, applied => applied.Count > 0);
    }

    [Fact]
    public void The_script_quotes_every_identifier_it_is_given()
    {
        var script = new PostgresSchemaMigrator(server.DataSource, "My\"Schema", "Sessions").GetScript();

        Assert.Contains("CREATE TABLE IF NOT EXISTS \"My\"\"Schema\".\"Sessions\"", script, StringComparison.Ordinal);
        Assert.Contains("\"Sessions_expire_idx\"", script, StringComparison.Ordinal);
        Assert.Contains("\"Sessions_user_id_idx\"", script, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", script, StringComparison.Ordinal);
    }
}
