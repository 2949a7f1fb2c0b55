using SessionStore.Postgres;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary><c>sessionstore verify</c>: the go/no-go verdict on each table format, with a bad phase, and with live counts apart.</summary>
public sealed class VerifyCommandTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(PostgresPayloadFormat.Bytea, "dual-pg-primary")]
    [InlineData(PostgresPayloadFormat.Bytea, "dual-redis-primary")]
    [InlineData(PostgresPayloadFormat.Jsonb, "dual-pg-primary")]
    public async Task Verify_reads_the_table_in_its_payload_format_and_finds_the_20_sessions_that_differ(PostgresPayloadFormat format, string phase)
    {
        using var scenario = new MigrationScenario(postgres, redis, format);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(20);
        foreach (var key in keys)
        {
            await scenario.Postgres.SetAsync(key, MigrationScenario.Session(500), new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        }

        var (exitCode, output) = await CliRunner.RunAsync(Environment(scenario), Token, ["verify", "--full", .. CliRunner.Flags(scenario, phase)]);

        Assert.Equal(1, exitCode);
        Assert.Matches(@"Value differs\s*│\s*20", output);
        Assert.Matches(@"20 (PostgreSQL|Redis) sessions compared", output);
        Assert.Contains("Not ready", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_on_a_bytea_table_that_agrees_says_ready()
    {
        using var scenario = new MigrationScenario(postgres, redis, PostgresPayloadFormat.Bytea);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(20);
        var backfill = await CliRunner.RunAsync(Environment(scenario), Token, ["backfill", "--checkpoint", TempFile(), .. CliRunner.Flags(scenario)]);

        var (exitCode, output) = await CliRunner.RunAsync(Environment(scenario), Token, ["verify", "--full", .. CliRunner.Flags(scenario, "dual-pg-primary")]);

        Assert.Equal(0, backfill.ExitCode);
        Assert.Equal(0, exitCode);
        Assert.Contains("20 PostgreSQL sessions compared", output, StringComparison.Ordinal);
        Assert.Contains("Ready for the next phase", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dual-redis-primary")]
    [InlineData("dual-pg-primary")]
    public async Task A_Redis_session_whose_key_PostgreSQL_cannot_hold_is_a_difference_not_a_PostgreSQL_failure(string phase)
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(20);
        await CliRunner.RunPlainAsync(Environment(scenario), Token, ["backfill", "--checkpoint", TempFile(), .. CliRunner.Flags(scenario)]);
        // Written by Microsoft's RedisCache, which takes any key: U+0000 cannot be in PostgreSQL text.
        await scenario.RedisCache.SetAsync("ab\0cd", MigrationScenario.Session(7), new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);

        var (exitCode, output) = await CliRunner.RunPlainAsync(Environment(scenario), Token, ["verify", "--full", .. CliRunner.Flags(scenario, phase)]);

        // Sent to PostgreSQL with the rest of its page, it failed the run: exit 3, "PostgreSQL could not be reached or failed: 22021".
        Assert.True(exitCode == 1, $"exit {exitCode}\n{output}");
        Assert.DoesNotContain("could not be reached", output, StringComparison.Ordinal);
        Assert.Contains("Not ready", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_empty_stores_are_not_ready_and_the_names_are_to_be_checked()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(20); // the application's, under its prefix
        var flags = CliRunner.Flags(scenario).ToArray();
        flags[Array.IndexOf(flags, "--instance-name") + 1] = scenario.Prefix.TrimEnd(':') + "-typo:";

        var (exitCode, output) = await CliRunner.RunPlainAsync(Environment(scenario), Token, ["verify", "--full", .. flags]);

        // Two empty stores under a mistyped prefix agreed: "0 Redis sessions compared … Ready for the next phase".
        Assert.True(exitCode == 1, $"exit {exitCode}\n{output}");
        Assert.Contains("nothing to compare", output, StringComparison.Ordinal);
        Assert.Contains("--instance-name", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("PostgressOnly")]
    [InlineData("5")]
    [InlineData("")]
    [InlineData("RedisOnly,DualWriteRedisPrimary")]
    public async Task Verify_with_a_phase_that_names_none_exits_2_with_the_valid_list(string phase)
    {
        var (exitCode, output) = await CliRunner.RunAsync("verify", "--phase", phase, "--postgres", "Host=127.0.0.1;Port=1", "--redis", "127.0.0.1:1");

        Assert.Equal(2, exitCode);
        Assert.Contains($"'{phase}'", output, StringComparison.Ordinal);
        Assert.Contains("DualWritePostgresPrimary (dual-pg-primary)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("could not be reached", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Live_counts_apart_by_more_than_the_tolerance_are_not_ready_and_the_tolerance_is_printed()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(100);
        await CliRunner.RunAsync(Environment(scenario), Token, ["backfill", "--checkpoint", TempFile(), .. CliRunner.Flags(scenario)]);
        // Sessions only Redis holds: PostgreSQL, the primary, never lists them, so a sample can tell only by the counts.
        await scenario.WriteRedisSessionsAsync(5);

        var strict = await CliRunner.RunAsync(Environment(scenario), Token, ["verify", .. CliRunner.Flags(scenario, "dual-pg-primary")]);
        var lenient = await CliRunner.RunAsync(Environment(scenario), Token, ["verify", "--count-tolerance", "0.05", .. CliRunner.Flags(scenario, "dual-pg-primary")]);
        var full = await CliRunner.RunAsync(Environment(scenario), Token, ["verify", "--full", "--count-tolerance", "0.05", .. CliRunner.Flags(scenario, "dual-pg-primary")]);

        Assert.Equal(1, strict.ExitCode);
        Assert.Matches(@"Missing in the secondary\s*│\s*0", strict.Output);
        Assert.Contains("the live counts differ by 5, more than the tolerance of 1.0 % (2 sessions", strict.Output, StringComparison.Ordinal);
        Assert.Equal(0, lenient.ExitCode);
        Assert.Matches(@"counts\s+may\s+differ\s+by\s+5.0\s%", lenient.Output);
        Assert.Contains("run verify --full", lenient.Output, StringComparison.Ordinal);

        // The full comparison also lists Redis, and finds the 5 within the tolerance.
        Assert.Equal(1, full.ExitCode);
        Assert.Matches(@"Only in the secondary \(Redis\)\s*│\s*5", full.Output);
        Assert.Contains("5 live sessions are in Redis only", full.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("sessionstore sync", full.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-0.1")]
    [InlineData("1.5")]
    public async Task A_count_tolerance_out_of_range_exits_2(string tolerance)
    {
        var (exitCode, output) = await CliRunner.RunAsync("verify", "--count-tolerance", tolerance);

        Assert.Equal(2, exitCode);
        Assert.Contains("--count-tolerance", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_an_empty_instance_name_the_application_s_other_keys_are_not_counted_as_sessions()
    {
        // A database of its own: an empty prefix covers every key in it. The application keeps counters, queues and
        // sets beside its sessions; only RedisCache's entries (hashes) are sessions.
        const int database = 12;
        var db = redis.Connection.GetDatabase(database);
        await redis.Connection.GetServers()[0].FlushDatabaseAsync(database);
        var configuration = $"{redis.Configuration},defaultDatabase={database}";
        var table = PostgresServer.UniqueTableName("noprefix");
        await new PostgresSchemaMigrator(postgres.DataSource, "public", table).MigrateAsync(Token);
        using (var theirs = new Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache(Microsoft.Extensions.Options.Options.Create(new Microsoft.Extensions.Caching.StackExchangeRedis.RedisCacheOptions { Configuration = configuration })))
        {
            for (var i = 0; i < 30; i++)
            {
                await theirs.SetAsync(Guid.NewGuid().ToString(), MigrationScenario.Session(i), new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
            }
        }

        for (var i = 0; i < 20; i++)
        {
            await db.StringSetAsync($"app:counter:{i}", i);
            await db.ListLeftPushAsync($"app:queue:{i}", "job");
            await db.SetAddAsync($"app:tags:{i}", "x");
        }

        string[] stores = ["--postgres", postgres.ConnectionString, "--table", table, "--redis", configuration, "--phase", "dual-redis-primary"];
        var backfill = await CliRunner.RunAsync(null, Token, ["backfill", "--checkpoint", TempFile(), "--output", "json", .. stores]);
        var verify = await CliRunner.RunAsync(null, Token, ["verify", "--output", "json", .. stores]);
        var stats = await CliRunner.RunAsync(null, Token, ["stats", "--output", "json", .. stores]);

        Assert.True(backfill.ExitCode == 0, backfill.Output);
        using var copied = System.Text.Json.JsonDocument.Parse(backfill.Output);
        Assert.Equal(30, copied.RootElement.GetProperty("scanned").GetInt64());
        Assert.Equal(30, copied.RootElement.GetProperty("copied").GetInt64());
        Assert.True(verify.ExitCode == 0, verify.Output);
        using var verdict = System.Text.Json.JsonDocument.Parse(verify.Output);
        Assert.Equal(30, verdict.RootElement.GetProperty("redisLiveSessions").GetInt64());
        Assert.True(verdict.RootElement.GetProperty("readyForNextPhase").GetBoolean());
        Assert.Contains("\"redisLiveSessions\": 30", stats.Output, StringComparison.Ordinal);
        await redis.Connection.GetServers()[0].FlushDatabaseAsync(database);
    }

    internal static Dictionary<string, string?> Environment(MigrationScenario scenario) => new()
    {
        ["SessionStore__Postgres__PayloadFormat"] = scenario.PayloadFormat.ToString(),
        ["SessionStore__UserIdSessionKey"] = "UserId",
    };

    internal static string TempFile() => Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.json");
}
