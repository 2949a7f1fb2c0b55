using System.Text.Json;
using SessionStore.Postgres;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary>Each command of the <c>sessionstore</c> tool against the real servers, by its arguments, output and exit code.</summary>
public sealed class CliCommandTests(PostgresServer postgres, RedisServer redis) : IDisposable
{
    private readonly MigrationScenario _scenario = new(postgres, redis);

    private string[] Flags(params string[] command) => [.. command, .. CliRunner.Flags(_scenario)];

    [Fact]
    public async Task Migrate_dry_run_prints_the_SQL_without_a_server()
    {
        var (exitCode, output) = await CliRunner.RunAsync("migrate", "--dry-run", "--table", "my_sessions");

        Assert.Equal(0, exitCode);
        Assert.Contains("CREATE TABLE IF NOT EXISTS \"public\".\"my_sessions\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_dry_run_refuses_settings_the_cache_would_refuse_and_asks_for_no_connection()
    {
        // Printed as it was, the script of a 0.5 s partition width was one the cache itself would refuse to start on.
        var (exitCode, output) = await CliRunner.RunAsync(
            new Dictionary<string, string?> { ["SessionStore__Postgres__Partitioning__Interval"] = "00:00:00.5" },
            TestContext.Current.CancellationToken, "migrate", "--dry-run");

        Assert.Equal(2, exitCode); // usage error
        Assert.Contains("SessionStore:Postgres: Partitioning.Interval is 00:00:00.5000000;", output, StringComparison.Ordinal);
        Assert.DoesNotContain("ConnectionString", output, StringComparison.Ordinal);
        Assert.DoesNotContain("CREATE", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_creates_the_table_once()
    {
        var first = await CliRunner.RunAsync(Flags("migrate"));
        var second = await CliRunner.RunAsync(Flags("migrate"));

        Assert.Equal(0, first.ExitCode);
        Assert.Contains("migrated", first.Output, StringComparison.Ordinal);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("up to date", second.Output, StringComparison.Ordinal);
        Assert.Equal(0L, await _scenario.ScalarAsync("SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task Migrate_of_a_table_at_version_3_applies_versions_4_and_5_and_repairs_nothing()
    {
        await _scenario.CreateTableAsync();
        // A table migrated by a SessionStore of schema version 3 has no _instances table: script 4 makes it.
        await _scenario.ScalarAsync($"DROP TABLE \"{_scenario.Table}_instances\"");
        await _scenario.ScalarAsync("DELETE FROM sessionstore_schema_history WHERE table_name = $1 AND version > 3", _scenario.Table);

        var (exitCode, output) = await CliRunner.RunAsync(Flags("migrate"));

        Assert.Equal(0, exitCode);
        Assert.Contains("migrated: applied version(s) 4, 5.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("dropped by hand", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_names_the_index_it_made_again_rather_than_versions_it_did_not_apply()
    {
        await _scenario.CreateTableAsync();
        await _scenario.ScalarAsync($"DROP INDEX \"{_scenario.Table}_user_id_idx\"");

        var (exitCode, output) = await CliRunner.RunAsync(Flags("migrate"));

        Assert.Equal(0, exitCode);
        Assert.Matches($@"repaired:\s+made again ""public"".""{_scenario.Table}_user_id_idx"", dropped by hand \(from script 1\)", output);
    }

    [Fact]
    public async Task Configuration_comes_from_the_file_then_the_environment_then_the_flags()
    {
        var settings = _scenario.Settings();
        var file = Path.Combine(Path.GetTempPath(), $"appsettings-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            SessionStore = new { Postgres = new { ConnectionString = "Host=127.0.0.1;Port=1", TableName = "wrong" } },
        }), TestContext.Current.CancellationToken);
        var environment = new Dictionary<string, string?>
        {
            ["SessionStore__Postgres__ConnectionString"] = settings["SessionStore:Postgres:ConnectionString"],
        };

        var (exitCode, output) = await CliRunner.RunAsync(environment, TestContext.Current.CancellationToken, "migrate", "--config", file, "--table", _scenario.Table);

        Assert.Equal(0, exitCode);
        Assert.Contains(_scenario.Table, output, StringComparison.Ordinal);
        File.Delete(file);
    }

    [Theory]
    [InlineData("backfill", "--no-such-option")]
    [InlineData("backfill", "--rate", "0")]
    [InlineData("backfill", "--rate", "1e-300")] // too small to wait for: it failed only after the first copy
    [InlineData("sync", "--rate", "NaN")]
    [InlineData("sync", "--rate", "Infinity")]
    [InlineData("stats", "--output", "yaml")]
    [InlineData("no-such-command")]
    [InlineData("revoke")]
    public async Task Bad_arguments_exit_with_2(params string[] args)
    {
        var (exitCode, output) = await CliRunner.RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains("error", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("verify", "--sample", "99999999999", "'99999999999'")]
    [InlineData("verify", "--sample", "", "--sample")]
    [InlineData("verify", "--count-tolerance", "abc", "'abc'")]
    [InlineData("backfill", "--rate", "abc", "'abc'")]
    [InlineData("backfill", "--batch-size", " ", "--batch-size")]
    [InlineData("sync", "--max-passes", "x", "'x'")]
    [InlineData("sync", "--batch-size", "0", "--batch-size is 0; it must be between 1 and 10000.")]
    [InlineData("status", "--stale-after", "x", "'x'")]
    [InlineData("status", "--stale-after", "99999999.00:00:00", "'99999999.00:00:00'")]
    [InlineData("status", "--stale-after", "30", "--stale-after is '30', which is not a duration: give it as hh:mm:ss")] // TimeSpan alone would read 30 days
    [InlineData("backfill", "--rate", "0,5", "--rate is '0,5'; write a number without separators")] // .NET alone would read 5
    [InlineData("backfill", "--rate", "5,000", "--rate is '5,000'")]
    [InlineData("verify", "--count-tolerance", "0,05", "--count-tolerance is '0,05'")]
    [InlineData("stats", "--output", "5", "--output is '5'; allowed: text, json.")] // .NET alone would read an unnamed value, printed as text
    [InlineData("verify", "--output", "1", "--output is '1'")]
    public async Task A_value_that_does_not_parse_or_is_out_of_range_is_refused_naming_the_option_and_the_value(string command, string option, string value, string expected)
    {
        // No server listens on port 1: a command that went on to connect would exit 3, not 2. A validator that read a
        // value that did not parse threw instead: a stack trace, and the process aborted (exit 134).
        var (exitCode, output) = await CliRunner.RunAsync(command, option, value, "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1");

        Assert.Equal(2, exitCode);
        Assert.Contains(option, output, StringComparison.Ordinal);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.DoesNotContain(" at SessionStore.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configuration_path_that_is_a_directory_or_missing_is_named_as_such_with_exit_2()
    {
        var directory = Path.GetTempPath();
        var missing = Path.Combine(directory, $"missing-{Guid.NewGuid():N}.json");

        var (directoryExit, directoryOutput) = await CliRunner.RunAsync("stats", "--config", directory);
        var (missingExit, missingOutput) = await CliRunner.RunAsync("stats", "--config", missing);

        Assert.Equal((2, 2), (directoryExit, missingExit));
        Assert.Contains("is a directory; give the JSON file itself", directoryOutput, StringComparison.Ordinal);
        Assert.Contains($"The configuration file {missing} does not exist.", missingOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stats_refuses_a_Redis_configuration_it_cannot_read_naming_it_rather_than_counting_Redis_as_absent()
    {
        // No server listens on port 1: reaching a store would be exit 3; before, this printed "not configured", exit 0.
        var (exitCode, output) = await CliRunner.RunAsync("stats", "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1,connectTimeout=abc");

        Assert.Equal(2, exitCode);
        Assert.Contains("error: SessionStore:Redis: ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter 'options')", output, StringComparison.Ordinal); // the library's parameter, not the operator's
    }

    [Fact]
    public async Task Missing_settings_are_named_and_exit_with_2()
    {
        var (exitCode, output) = await CliRunner.RunAsync("backfill", "--postgres", "Host=127.0.0.1");

        Assert.Equal(2, exitCode);
        Assert.Contains("SessionStore:Redis", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("migrate", "SessionStore__Postgres__OperationTimeout", "2s", "'2s' at 'SessionStore:Postgres:OperationTimeout'")]
    [InlineData("status", "SessionStore__Postgres__OperationTimeout", "00:00:00", "SessionStore:Postgres: OperationTimeout is 00:00:00; it must be between 10 ms and 5 minutes.")]
    [InlineData("migrate", "SessionStore__Postgres__OperationTimeout", "00:00:00", "SessionStore:Postgres: OperationTimeout is 00:00:00; it must be between 10 ms and 5 minutes.")]
    [InlineData("verify", "SessionStore__Redis__OperationTimeout", "-00:00:01", "SessionStore:Redis: OperationTimeout is -00:00:01; it must be between 10 ms and 5 minutes.")]
    [InlineData("backfill", "SessionStore__Redis__OperationTimout", "00:00:01", "SessionStore:Redis:OperationTimout is not a setting, so it would be ignored")]
    [InlineData("sync", "SessionStore__Postgres", "Host=127.0.0.1", "SessionStore:Postgres holds a value, but it is a section")]
    [InlineData("verify", "SessionStore__Phase__0", "DualWritePostgresPrimary", "SessionStore:Phase holds a section or a list, but it takes one value.")]
    [InlineData("verify", "SessionStore__SecondaryTimeout", "-00:00:00.001", "SessionStore:SecondaryTimeout is -00:00:00.0010000; it must be between 00:00:00.010 and 00:01:00.")]
    [InlineData("sync", "SessionStore__ExpiryTolerance", "-00:05:00", "SessionStore:ExpiryTolerance is -00:05:00; it must not be negative.")]
    public async Task A_bad_value_is_refused_naming_its_key_and_value_before_any_server_is_contacted(string command, string variable, string value, string expected)
    {
        // No server listens on port 1: a command that went on to connect would exit 3, not 2.
        var environment = new Dictionary<string, string?> { [variable] = value };
        var (exitCode, output) = await CliRunner.RunAsync(environment, TestContext.Current.CancellationToken, command, "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1");

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.DoesNotContain("set --postgres", output, StringComparison.Ordinal); // the connection is not what is wrong
    }

    [Theory]
    [InlineData("verify", "Username=app;Password=secret", "Host is not set; it is required.")]
    [InlineData("verify", "Host=127.0.0.1;Password=secret;Multiplexing=true;Pooling=false", "Pooling must be on to use multiplexing")]
    [InlineData("verify", "Host=127.0.0.1;Password=secret;Port=99999", "Port must be between 1 and 65535")] // verify went on to Redis first
    [InlineData("migrate", "Host=127.0.0.1;Password=secret;Port=99999", "Port must be between 1 and 65535")]
    [InlineData("stats", "Host=127.0.0.1;Password=secret;Minimum Pool Size=10;Maximum Pool Size=5", "Npgsql refuses how its settings combine")]
    public async Task A_connection_string_that_reads_but_cannot_be_used_is_refused_naming_it_before_any_server_is_contacted(string command, string connectionString, string expected)
    {
        // No server listens on port 1: a command that went on to connect would exit 3, not 2.
        var (exitCode, output) = await CliRunner.RunPlainAsync(null, TestContext.Current.CancellationToken, command, "--phase", "dual-pg-primary", "--postgres", connectionString, "--redis", "127.0.0.1:1");

        Assert.True(exitCode == 2, $"exit {exitCode}: {output}");
        Assert.Contains($"SessionStore:Postgres: ConnectionString cannot be used: {expected}", output, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", output, StringComparison.Ordinal);
        Assert.DoesNotContain("10", output, StringComparison.Ordinal); // Npgsql's pool-size message quotes both values
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("stats")]
    [InlineData("backfill")]
    public async Task A_negative_Redis_database_is_refused_naming_defaultDatabase_before_any_server_is_contacted(string command)
    {
        // No server listens on port 1: a command that went on to connect would exit 3, not 2. With a server, it crashed
        // with an unhandled IndexOutOfRangeException and a stack trace, exit 1.
        var (exitCode, output) = await CliRunner.RunPlainAsync(null, TestContext.Current.CancellationToken, command, "--phase", "dual-redis-primary", "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1,defaultDatabase=-5");

        Assert.True(exitCode == 2, $"exit {exitCode}: {output}");
        Assert.Contains("SessionStore:Redis: Configuration's defaultDatabase is -5; it must be 0 or more", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ComparisonSampleRate", 2)] // the binder would make it 0: comparisons off
    [InlineData("Phase", 3)]                // its own default: the flag gives the phase, and the command goes on to connect
    public async Task A_json_null_in_the_config_file_is_refused_only_where_it_would_change_the_setting(string setting, int expectedExit)
    {
        var file = Path.Combine(Path.GetTempPath(), $"null-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, $$"""{ "SessionStore": { "{{setting}}": null } }""", TestContext.Current.CancellationToken);

        var (exitCode, output) = await CliRunner.RunAsync("verify", "--config", file, "--phase", "dual-pg-primary", "--postgres", "Host=127.0.0.1;Port=1;Timeout=1", "--redis", "127.0.0.1:1,connectTimeout=200");

        Assert.True(exitCode == expectedExit, $"exit {exitCode}: {output}");
        Assert.Equal(expectedExit == 2, output.Contains($"SessionStore:{setting} is null, which would set it to 0", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--sample 0 is refused: it compares nothing", "verify", "--sample", "0", "--sample is 0; it must be at least 1")]
    [InlineData("a blank user id", "revoke", "--user", "  ", "--user is '  '; give the user id")]
    [InlineData("an empty user id", "revoke", "--user", "", "--user is ''; give the user id")]
    public async Task A_bad_flag_is_refused_naming_it_before_any_server_is_contacted(string why, string command, string flag, string value, string expected)
    {
        // No server listens on port 1: a command that went on to connect would exit 3, not 2.
        var (exitCode, output) = await CliRunner.RunAsync(command, flag, value, "--phase", "dual-pg-primary", "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1");

        Assert.True(exitCode == 2, $"{why}: exit {exitCode}. {output}");
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sample_of_0_is_accepted_with_full_which_ignores_it()
    {
        var (exitCode, output) = await CliRunner.RunAsync("verify", "--full", "--sample", "0", "--phase", "dual-pg-primary", "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1", "--timeout", "00:00:01");

        Assert.True(exitCode == 3, $"exit {exitCode}: {output}"); // on to the stores, which do not answer
    }

    [Fact]
    public async Task A_negative_sample_is_refused_naming_the_flag_even_with_full()
    {
        // Past the flag's check, it was refused by the library as "SampleSize", a name the operator never typed.
        var (exitCode, output) = await CliRunner.RunAsync("verify", "--full", "--sample", "-5", "--phase", "dual-pg-primary", "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1");

        Assert.True(exitCode == 2, $"exit {exitCode}: {output}");
        Assert.Contains("--sample is -5; it must be at least 1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decimals_take_a_point_whatever_the_machines_locale()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.GetCultureInfo("de-DE");
        try
        {
            // Read in German, 0.05 was 5 and refused; read right it passes, and the command goes on to find no server.
            var (exitCode, output) = await CliRunner.RunAsync("verify", "--count-tolerance", "0.05", "--phase", "dual-pg-primary", "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1", "--timeout", "00:00:01");

            Assert.True(exitCode == 3, $"exit {exitCode}: {output}");
            Assert.DoesNotContain("--count-tolerance", output, StringComparison.Ordinal);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Theory]
    [InlineData("status", "30", "--timeout is '30', which is not a duration: give it as hh:mm:ss")] // TimeSpan alone would read 30 days
    [InlineData("verify", "30s", "--timeout is '30s', which is not a duration")]
    [InlineData("migrate", "00:10:00", "--timeout is '00:10:00'; it must be between 10 ms and 5 minutes.")]
    [InlineData("stats", "00:00:00", "--timeout is '00:00:00'; it must be between 10 ms and 5 minutes.")]
    public async Task A_bad_timeout_flag_is_refused_naming_it_before_any_server_is_contacted(string command, string value, string expected)
    {
        // No server listens on port 1: a command that went on to connect would exit 3, not 2.
        var (exitCode, output) = await CliRunner.RunAsync(command, "--timeout", value, "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1");

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_says_when_a_long_read_kept_it_from_creating_the_partitions_ahead()
    {
        var token = TestContext.Current.CancellationToken;
        // A partitioned table that misses its furthest partition, as when the cleanup has not run for a while.
        var table = PostgresServer.UniqueTableName("cli_part");
        var partitioned = new PostgresSessionCacheOptions { TableName = table, Partitioning = new PostgresPartitioningOptions() };
        await new PostgresSchemaMigrator(postgres.DataSource, partitioned).MigrateAsync(token);
        await using (var drop = postgres.DataSource.CreateCommand($"""
            SELECT format('DROP TABLE %I', max(c.relname)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = '"{table}"'::regclass AND c.relname <> '{table}_forever'
            """))
        {
            await using var dropFurthest = postgres.DataSource.CreateCommand((string)(await drop.ExecuteScalarAsync(token))!);
            await dropFurthest.ExecuteNonQueryAsync(token);
        }

        string[] migrate = ["migrate", "--postgres", postgres.ConnectionString, "--table", table];
        var environment = new Dictionary<string, string?> { ["SessionStore__Postgres__Partitioning__Interval"] = "01:00:00" };

        // A long read (a report, pg_dump) holds the table: creating a partition would queue every statement behind it.
        await using (await HeldTransaction.BeginAsync(postgres.DataSource, $"SELECT count(*) FROM \"{table}\""))
        {
            var (exitCode, output) = await CliRunner.RunAsync(environment, token, migrate);

            Assert.Equal(0, exitCode);
            Assert.Contains("up to date", output, StringComparison.Ordinal);
            Assert.Contains("The partitions ahead were not created", output, StringComparison.Ordinal);
        }

        var afterTheRead = await CliRunner.RunAsync(environment, token, migrate);
        Assert.Equal(0, afterTheRead.ExitCode);
        Assert.DoesNotContain("not created", afterTheRead.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_exits_with_3()
    {
        var (exitCode, output) = await CliRunner.RunAsync("migrate", "--postgres", "Host=127.0.0.1;Port=1;Timeout=2");

        Assert.Equal(3, exitCode);
        Assert.Contains("PostgreSQL could not be reached", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("stats")]
    [InlineData("verify")]
    public async Task A_Redis_that_cannot_be_reached_exits_with_3_even_when_the_configuration_says_abortConnect_false(string command)
    {
        // An application's connection string often says abortConnect=false; a tool that took it at its word read an
        // unreachable Redis as one holding no sessions: stats printed 0, and verify told the operator to run sync.
        Assert.Equal(0, (await CliRunner.RunAsync(Flags("migrate"))).ExitCode);
        var flags = Flags(command);
        flags[Array.IndexOf(flags, "--redis") + 1] = "127.0.0.1:1,abortConnect=false,connectTimeout=1000";

        var (exitCode, output) = await CliRunner.RunAsync(flags);

        Assert.Equal(3, exitCode);
        Assert.Contains("Redis could not be reached", output, StringComparison.Ordinal);
        Assert.Contains("SessionStore:Redis:OperationTimeout", output, StringComparison.Ordinal);
        Assert.DoesNotContain("use abortConnect=false", output, StringComparison.Ordinal); // the driver's advice, wrong for a tool
    }

    [Theory]
    [InlineData("directory")]
    [InlineData("missing-directory")]
    [InlineData("empty")] // passed the check, copied a batch, then failed naming no option, leaving ".tmp" behind
    [InlineData("blank")]
    public async Task A_checkpoint_that_cannot_be_written_exits_2_before_anything_is_copied(string kind)
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(10);
        var checkpoint = kind switch
        {
            "directory" => Path.GetTempPath(),
            "empty" => "",
            "blank" => " ",
            _ => Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "cp.json"),
        };

        var text = await CliRunner.RunAsync(Flags("backfill", "--checkpoint", checkpoint));
        var json = await CliRunner.RunAsync(Flags("sync", "--checkpoint", checkpoint, "--output", "json"));

        Assert.Equal(2, text.ExitCode);
        Assert.Contains($"--checkpoint is '{checkpoint}'", text.Output, StringComparison.Ordinal);
        Assert.Equal(2, json.ExitCode);
        Assert.DoesNotContain("   at ", text.Output + json.Output, StringComparison.Ordinal);
        Assert.Empty(await _scenario.PostgresKeysAsync());
    }

    [Fact]
    public async Task A_backfill_without_a_user_id_key_warns_that_log_out_everywhere_will_not_find_the_copies()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(10);

        var without = await CliRunner.RunAsync(Flags("backfill", "--checkpoint", TempCheckpoint()));
        var with = await CliRunner.RunAsync(new Dictionary<string, string?> { ["SessionStore__UserIdSessionKey"] = "UserId" }, TestContext.Current.CancellationToken, Flags("backfill", "--checkpoint", TempCheckpoint()));

        Assert.Equal(0, without.ExitCode);
        Assert.Contains("SessionStore:UserIdSessionKey is not set", without.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("UserIdSessionKey is not set", with.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("backfill")]
    [InlineData("sync")]
    public async Task A_copy_with_a_blank_user_id_key_exits_2_before_copying_any_session(string command)
    {
        // The application refuses it at start-up; a copy dropped it, exit 0, and wrote every session with no user id.
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(10);
        var environment = new Dictionary<string, string?> { ["SessionStore__UserIdSessionKey"] = " " };

        var (exitCode, output) = await CliRunner.RunPlainAsync(environment, TestContext.Current.CancellationToken, Flags(command, "--checkpoint", TempCheckpoint()));

        Assert.True(exitCode == 2, $"exit {exitCode}: {output}");
        Assert.Contains("SessionStore:UserIdSessionKey is blank; leave it out to record no user", output, StringComparison.Ordinal);
        Assert.Empty(await _scenario.PostgresKeysAsync());
    }

    [Fact]
    public async Task A_missing_table_exits_with_2_and_says_to_migrate()
    {
        var (exitCode, output) = await CliRunner.RunAsync(Flags("backfill", "--checkpoint", TempCheckpoint()));

        Assert.Equal(2, exitCode);
        Assert.Contains("sessionstore migrate", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("backfill")]
    [InlineData("sync")]
    [InlineData("verify")]
    [InlineData("stats")]
    [InlineData("migrate")]
    public async Task A_table_of_another_shape_under_the_configured_name_exits_2_naming_it_before_anything_is_copied(string command)
    {
        await using (var create = postgres.DataSource.CreateCommand($"CREATE TABLE public.\"{_scenario.Table}\" (id text PRIMARY KEY, value bytea NOT NULL, expires_at timestamptz)"))
        {
            await create.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        await _scenario.WriteRedisSessionsAsync(10);
        string[] extra = command is "backfill" or "sync" ? ["--checkpoint", TempCheckpoint()] : [];

        var (exitCode, output) = await CliRunner.RunAsync(Flags([command, .. extra]));

        Assert.True(exitCode == 2, output);
        Assert.Contains($"{_scenario.Table}\" exists but is not a SessionStore session table: it has no column sid", output, StringComparison.Ordinal);
        Assert.DoesNotContain("longer than 255", output, StringComparison.Ordinal);
        await using var rows = postgres.DataSource.CreateCommand($"SELECT count(*) FROM public.\"{_scenario.Table}\"");
        Assert.Equal(0L, await rows.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Backfill_copies_and_verify_then_says_ready()
    {
        await _scenario.CreateTableAsync();
        var keys = await _scenario.WriteRedisSessionsAsync(2_000);

        var backfill = await CliRunner.RunAsync(Flags("backfill", "--checkpoint", TempCheckpoint()));
        var verify = await CliRunner.RunAsync(Flags("verify", "--full"));

        Assert.Equal(0, backfill.ExitCode);
        Assert.Matches(@"Copied\s*│\s*2,000", backfill.Output);
        Assert.Contains("Backfill complete", backfill.Output, StringComparison.Ordinal);
        Assert.Equal(keys.ToHashSet(), await _scenario.PostgresKeysAsync());
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("Ready for the next phase", verify.Output, StringComparison.Ordinal);
        Assert.Contains("2,000 Redis sessions compared", verify.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backfill_interrupted_exits_with_130_and_resumes()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(1_000);
        var checkpoint = TempCheckpoint();
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));

        var first = await CliRunner.RunAsync(null, interrupt.Token, Flags("backfill", "--checkpoint", checkpoint, "--rate", "200", "--batch-size", "100"));
        var second = await CliRunner.RunAsync(Flags("backfill", "--checkpoint", checkpoint));

        Assert.Equal(130, first.ExitCode);
        Assert.Contains("resume", first.Output, StringComparison.Ordinal);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("resumed from a checkpoint", second.Output, StringComparison.Ordinal);
        Assert.Equal(1_000, (await _scenario.PostgresKeysAsync()).Count);
    }

    [Fact]
    public async Task An_interrupted_backfill_prints_every_batch_it_copied_in_plain_mode_and_the_resumed_run_reports_its_own_rate()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(1_000);
        var checkpoint = TempCheckpoint();
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));

        // Pages of up to 500 keys (SCAN's count is a hint) copied 200 at a time at 200/s: the interrupt comes after the
        // first batches.
        var first = await CliRunner.RunPlainAsync(null, interrupt.Token, Flags("backfill", "--checkpoint", checkpoint, "--rate", "200", "--batch-size", "500"));
        var copied = (await _scenario.PostgresKeysAsync()).Count;
        var second = await CliRunner.RunPlainAsync(null, TestContext.Current.CancellationToken, Flags("backfill", "--checkpoint", checkpoint, "--rate", "200", "--batch-size", "500"));

        Assert.True(first.ExitCode == 130, first.Output);
        Assert.InRange(copied, 1, 999);
        Assert.Matches($@"Copied\s*│\s*{copied:N0}\s*│", first.Output);
        // Whether the first page was in by then depends on how many of the keys SCAN's pages hold: both words are right.
        Assert.Matches(@"Interrupted(\.| before its first checkpoint)", first.Output);

        // Its first progress line comes after its first batch, 200 keys at 200/s, and the throttle's wait: counting the
        // interrupted run's keys as its own made it twice as fast as the limit.
        Assert.True(second.ExitCode == 0, second.Output);
        var rate = int.Parse(System.Text.RegularExpressions.Regex.Match(second.Output, @"copied, ([\d,]+)/s").Groups[1].Value, System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(rate, 1, 230);
    }

    [Fact]
    public async Task Verify_confirms_mismatches_per_kind_and_exits_with_1()
    {
        await _scenario.CreateTableAsync();
        var keys = await _scenario.WriteRedisSessionsAsync(20);
        await CliRunner.RunAsync(Flags("backfill", "--checkpoint", TempCheckpoint()));
        await _scenario.Postgres.SetAsync(keys[0], MigrationScenario.Session(1000), new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, TestContext.Current.CancellationToken);
        await _scenario.Postgres.RemoveAsync(keys[1], TestContext.Current.CancellationToken);
        await _scenario.Postgres.RemoveAsync(keys[2], TestContext.Current.CancellationToken);

        var (exitCode, output) = await CliRunner.RunAsync(Flags("verify", "--sample", "100"));

        Assert.Equal(1, exitCode);
        Assert.Matches(@"Missing in the secondary\s*│\s*2", output);
        Assert.Matches(@"Value differs\s*│\s*1", output);
        Assert.Contains("Not ready", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_logs_a_user_out_in_both_stores_of_a_dual_phase()
    {
        await _scenario.CreateTableAsync();
        // Written by our Redis cache, which keeps the per-user index that revocation in Redis needs (RedisCache keeps none).
        using var ours = new SessionStore.Redis.RedisSessionCache(new SessionStore.Redis.RedisSessionCacheOptions
        {
            Configuration = redis.Configuration,
            InstanceName = _scenario.Prefix,
            UserIdSessionKey = "UserId",
        });
        var keys = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid().ToString()).ToArray();
        for (var i = 0; i < keys.Length; i++)
        {
            await ours.SetAsync(keys[i], MigrationScenario.Session(i, i < 3 ? "ada" : "bob"), new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, TestContext.Current.CancellationToken);
        }

        var environment = new Dictionary<string, string?> { ["SessionStore__UserIdSessionKey"] = "UserId" };
        await CliRunner.RunAsync(environment, TestContext.Current.CancellationToken, Flags("backfill", "--checkpoint", TempCheckpoint()));

        var (exitCode, output) = await CliRunner.RunAsync(environment, TestContext.Current.CancellationToken, Flags("revoke", "--user", "ada"));

        Assert.Equal(0, exitCode);
        Assert.Contains("3 session(s) of the user revoked", output, StringComparison.Ordinal);
        Assert.DoesNotContain(" ada", output, StringComparison.Ordinal);
        Assert.Equal([keys[3]], await _scenario.PostgresKeysAsync());
        Assert.Equal([keys[3]], await _scenario.RedisKeysAsync());
    }

    [Fact]
    public async Task Stats_shows_both_stores_the_cleanup_backlog_sizes_and_the_last_cleanup_run()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(30);
        await CliRunner.RunAsync(Flags("backfill", "--checkpoint", TempCheckpoint()));
        await _scenario.ScalarAsync("UPDATE {table} SET expire = now() - interval '1 minute' WHERE sid IN (SELECT sid FROM {table} LIMIT 5)");
        var before = await CliRunner.RunAsync(Flags("stats"));
        await new SessionStore.Cleanup.PostgresSessionCleaner(_scenario.Postgres, new SessionStore.Cleanup.PostgresCleanupOptions()).RunOnceAsync(TestContext.Current.CancellationToken);

        var (exitCode, output) = await CliRunner.RunAsync(Flags("stats"));

        Assert.Equal(0, before.ExitCode);
        Assert.Matches(@"Redis live sessions\s*│\s*30", before.Output);
        Assert.Matches(@"PostgreSQL live sessions\s*│\s*25", before.Output);
        Assert.Matches(@"Expired rows not yet cleaned\s*│\s*5", before.Output);
        Assert.Contains("none recorded", before.Output, StringComparison.Ordinal);
        Assert.Equal(0, exitCode);
        Assert.Matches(@"Expired rows not yet cleaned\s*│\s*0", output);
        Assert.Matches(@"Last cleanup run\s*│\s*\d{4}-\d\d-\d\d .*: 5 rows", output);
        Assert.Contains("_expire_idx", output, StringComparison.Ordinal);
        Assert.Contains("HOT updates", output, StringComparison.Ordinal);
    }

    public void Dispose() => _scenario.Dispose();

    private static string TempCheckpoint() => Path.Combine(Path.GetTempPath(), $"cli-backfill-{Guid.NewGuid():N}.json");
}
