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

    [Theory]
    [InlineData("id text PRIMARY KEY, value bytea NOT NULL, expires_at timestamptz NOT NULL", "it has no column sid, user_id, expire, sliding_expiration, absolute_expire, created_at, updated_at, sess")]
    [InlineData("sid integer PRIMARY KEY, sess jsonb NOT NULL, user_id text, expire timestamptz NOT NULL, sliding_expiration interval, absolute_expire timestamptz, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now()", "its column sid is integer")]
    [InlineData("sid varchar(255) PRIMARY KEY, sess text NOT NULL, user_id text, expire timestamptz NOT NULL, sliding_expiration interval, absolute_expire timestamptz, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now()", "its column sess is text")]
    [InlineData("sid varchar(255), sess jsonb NOT NULL, user_id text, expire timestamptz NOT NULL, sliding_expiration interval, absolute_expire timestamptz, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(), ver bigint DEFAULT 0", "it has no primary key or unique index on sid alone")]
    [InlineData("sid varchar(255) PRIMARY KEY, sess jsonb NOT NULL, user_id text, expire timestamptz NOT NULL, sliding_expiration interval, absolute_expire timestamptz, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(), tenant int NOT NULL", "its column tenant is NOT NULL without a default")]
    public async Task A_table_of_that_name_that_is_not_a_session_table_is_refused_by_name_and_left_as_it_was(string columns, string reason)
    {
        var table = PostgresServer.UniqueTableName("foreign");
        await using (var create = server.DataSource.CreateCommand($"CREATE TABLE \"{table}\" ({columns})"))
        {
            await create.ExecuteNonQueryAsync(Token);
        }

        var before = await ColumnsAsync(table);
        var migrator = new PostgresSchemaMigrator(server.DataSource, "public", table);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => migrator.MigrateAsync(Token));

        Assert.Contains($"\"public\".\"{table}\" exists but is not a SessionStore session table: {reason}", error.Message, StringComparison.Ordinal);
        Assert.Contains("SessionStore:Postgres:TableName", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await ColumnsAsync(table)); // no ver column added, nothing else changed
        Assert.Throws<InvalidOperationException>(() => migrator.Migrate());
    }

    [Theory]
    [InlineData("_last_cleanup", false, "the table of the last cleanup run")]
    [InlineData("_expire_idx", false, "the index on expire of")]
    [InlineData("_user_id_idx", false, "the index on user_id of")]
    [InlineData("_instances", false, "the table of the instances using it")]
    [InlineData("_forever", true, "the partition of")]
    [InlineData("_partitioning", true, "the table of its bucket width and horizon")]
    public async Task A_name_derived_from_the_table_name_that_another_session_table_holds_is_refused_and_nothing_is_created(string suffix, bool partitioned, string purpose)
    {
        // Before, the scripts' IF NOT EXISTS took the other table as theirs: no index, or every cleanup run failing on its record.
        var table = PostgresServer.UniqueTableName("derived");
        await new PostgresSchemaMigrator(server.DataSource, "public", table + suffix).MigrateAsync(Token);
        var partitioning = partitioned ? new PostgresPartitioningOptions { Interval = TimeSpan.FromMinutes(1), Horizon = TimeSpan.FromMinutes(5) } : null;
        var before = await ColumnsAsync(table + suffix);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new PostgresSchemaMigrator(server.DataSource, "public", table, partitioning).MigrateAsync(Token));

        Assert.Contains($"\"public\".\"{table}{suffix}\" is the name SessionStore gives {purpose}", error.Message, StringComparison.Ordinal);
        Assert.Contains("SessionStore:Postgres:TableName", error.Message, StringComparison.Ordinal);
        Assert.False(await ExistsAsync(table));
        Assert.Equal(before, await ColumnsAsync(table + suffix));
    }

    [Theory]
    [InlineData("_user_id_idx", "DROP INDEX", 1)]
    [InlineData("_expire_idx", "DROP INDEX", 1)]
    [InlineData("_instances", "DROP TABLE", 4)]
    [InlineData("_last_cleanup", "DROP TABLE", 2)]
    public async Task A_derived_relation_dropped_by_hand_is_made_again_by_its_own_statement_alone_while_a_long_read_holds_the_table(string suffix, string drop, int script)
    {
        var table = PostgresServer.UniqueTableName("dropped");
        var migrator = new PostgresSchemaMigrator(server.DataSource, "public", table);
        await migrator.MigrateAsync(Token);
        await ExecuteAsync($"{drop} \"{table}{suffix}\"");

        // A report or a dump reads the table meanwhile. Running every script again took the table's exclusive lock
        // (their ALTER TABLEs), which waited for the read, and every statement on the table queued behind that wait.
        await using var reading = await HeldTransaction.BeginAsync(server.DataSource, $"SELECT count(*) FROM \"{table}\"");

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
        bound.CancelAfter(TimeSpan.FromSeconds(10));
        Assert.Equal([script], await migrator.MigrateAsync(bound.Token));

        Assert.True(await ExistsAsync(table + suffix));
        Assert.Empty(await migrator.MigrateAsync(Token)); // and then it is current again
    }

    [Fact]
    public async Task An_upgrade_behind_a_long_read_gives_up_at_once_saying_why_rather_than_stall_the_table()
    {
        var table = PostgresServer.UniqueTableName("behind");
        var migrator = new PostgresSchemaMigrator(server.DataSource, "public", table);
        await migrator.MigrateAsync(Token);
        await ExecuteAsync($"DELETE FROM sessionstore_schema_history WHERE table_name = '{table}' AND version = {PostgresSchemaMigrator.LatestVersion}");

        // Script 5 alters the table. Waiting for the read, its lock request queued every statement on the table behind it.
        await using (await HeldTransaction.BeginAsync(server.DataSource, $"SELECT count(*) FROM \"{table}\""))
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
            bound.CancelAfter(TimeSpan.FromSeconds(10));
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => migrator.MigrateAsync(bound.Token));
            Assert.Contains($"\"{table}\" waited 250 ms for a lock on it", error.Message, StringComparison.Ordinal);
            Assert.Contains("Nothing was changed", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal([PostgresSchemaMigrator.LatestVersion], await migrator.MigrateAsync(Token));
    }

    [Fact]
    public async Task A_forever_partition_detached_by_hand_is_refused_by_name()
    {
        var table = PostgresServer.UniqueTableName("detached");
        var migrator = new PostgresSchemaMigrator(server.DataSource, "public", table, new PostgresPartitioningOptions { Interval = TimeSpan.FromMinutes(1), Horizon = TimeSpan.FromMinutes(5) });
        await migrator.MigrateAsync(Token);
        await ExecuteAsync($"ALTER TABLE \"{table}\" DETACH PARTITION \"{table}_forever\"");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => migrator.MigrateAsync(Token));

        Assert.Contains($"\"public\".\"{table}_forever\" is the name SessionStore gives the partition of", error.Message, StringComparison.Ordinal);
        Assert.Contains("detached by hand", error.Message, StringComparison.Ordinal);
    }

    private async Task<bool> ExistsAsync(string relation)
    {
        await using var command = server.DataSource.CreateCommand("SELECT to_regclass($1) IS NOT NULL");
        command.Parameters.AddWithValue($"\"{relation}\"");
        return (bool)(await command.ExecuteScalarAsync(Token))!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = server.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Token);
    }

    [Fact]
    public async Task A_view_of_that_name_is_refused_as_a_view()
    {
        var table = PostgresServer.UniqueTableName("base");
        await new PostgresSchemaMigrator(server.DataSource, "public", table).MigrateAsync(Token);
        var view = PostgresServer.UniqueTableName("view");
        await using (var create = server.DataSource.CreateCommand($"CREATE VIEW \"{view}\" AS SELECT * FROM \"{table}\""))
        {
            await create.ExecuteNonQueryAsync(Token);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new PostgresSchemaMigrator(server.DataSource, "public", view).MigrateAsync(Token));

        Assert.Contains($"\"public\".\"{view}\" exists but is not a SessionStore session table: it is a view, not a table", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_version_column_dropped_by_hand_is_added_again_by_the_next_migration()
    {
        var table = PostgresServer.UniqueTableName("dropped");
        var migrator = new PostgresSchemaMigrator(server.DataSource, "public", table);
        await migrator.MigrateAsync(Token);
        var before = await ColumnsAsync(table);
        await using (var drop = server.DataSource.CreateCommand($"ALTER TABLE \"{table}\" DROP COLUMN ver"))
        {
            await drop.ExecuteNonQueryAsync(Token);
        }

        Assert.Equal([3], await migrator.MigrateAsync(Token));
        Assert.Equal(before, await ColumnsAsync(table));
        Assert.Empty(await migrator.MigrateAsync(Token));
    }

    [Fact]
    public async Task A_table_dropped_by_hand_is_created_again_by_the_next_migration()
    {
        var table = PostgresServer.UniqueTableName("gone");
        var migrator = new PostgresSchemaMigrator(server.DataSource, "public", table);
        await migrator.MigrateAsync(Token);
        var before = await ColumnsAsync(table);
        await using (var drop = server.DataSource.CreateCommand($"DROP TABLE \"{table}\""))
        {
            await drop.ExecuteNonQueryAsync(Token);
        }

        Assert.Equal(Enumerable.Range(1, PostgresSchemaMigrator.LatestVersion), await migrator.MigrateAsync(Token));
        Assert.Equal(before, await ColumnsAsync(table));
        Assert.Empty(await migrator.MigrateAsync(Token));
    }

    [Theory]
    [InlineData("ALTER TABLE {0} DROP CONSTRAINT {1}; ALTER TABLE {0} ADD PRIMARY KEY (sid) DEFERRABLE", false)]
    [InlineData("ALTER TABLE {0} ADD COLUMN tenant int; CREATE FUNCTION {2}() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.tenant := 7; RETURN NEW; END$$; CREATE TRIGGER t BEFORE INSERT ON {0} FOR EACH ROW EXECUTE FUNCTION {2}(); ALTER TABLE {0} ALTER COLUMN tenant SET NOT NULL", true)]
    [InlineData("ALTER TABLE {0} ADD COLUMN note text, ADD COLUMN tenant int NOT NULL DEFAULT 1; CREATE INDEX ON {0} (updated_at)", true)]
    public async Task A_session_table_a_DBA_changed_is_accepted_exactly_while_its_writes_still_work(string change, bool accepted)
    {
        var table = PostgresServer.UniqueTableName("dba");
        var migrator = new PostgresSchemaMigrator(server.DataSource, "public", table);
        await migrator.MigrateAsync(Token);
        await using (var command = server.DataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, change, $"\"{table}\"", $"\"{table}_pkey\"", $"\"{table}_fill\"")))
        {
            await command.ExecuteNonQueryAsync(Token);
        }

        var migrate = migrator.MigrateAsync(Token);

        if (accepted)
        {
            Assert.Empty(await migrate);
        }
        else
        {
            // A deferrable key cannot serve ON CONFLICT: every write failed, blamed on the keys.
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => migrate);
            Assert.Contains("no primary key or unique index on sid alone that its writes can use", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_session_table_of_the_other_payload_format_is_refused_naming_the_setting()
    {
        var table = PostgresServer.UniqueTableName("format");
        await new PostgresSchemaMigrator(server.DataSource, new PostgresSessionCacheOptions { TableName = table, PayloadFormat = PostgresPayloadFormat.Jsonb }).MigrateAsync(Token);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new PostgresSchemaMigrator(server.DataSource, new PostgresSessionCacheOptions { TableName = table, PayloadFormat = PostgresPayloadFormat.Bytea }).MigrateAsync(Token));

        Assert.Contains($"\"public\".\"{table}\" was created with the other payload format: its sess column is jsonb, where PayloadFormat Bytea writes bytea", error.Message, StringComparison.Ordinal);
        Assert.Contains("SessionStore:Postgres:PayloadFormat", error.Message, StringComparison.Ordinal);
    }

    private async Task<string> ColumnsAsync(string table)
    {
        await using var command = server.DataSource.CreateCommand(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped");
        command.Parameters.AddWithValue($"\"{table}\"");
        return (string)(await command.ExecuteScalarAsync(Token))!;
    }
}
