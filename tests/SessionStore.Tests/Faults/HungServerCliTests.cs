using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using Npgsql;
using SessionStore.Postgres;
using SessionStore.Tests.Cli;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Faults;

/// <summary>
/// The tool's commands that do not copy (<c>migrate</c>, <c>status</c>, <c>verify</c>, <c>stats</c>, <c>revoke</c>) are
/// bounded by the store's <c>OperationTimeout</c> like the stores' own statements, and stop at once on Ctrl+C, while
/// a server is hung (SIGSTOP) or a lock they need is held. <c>migrate</c> and <c>status</c> used Npgsql's defaults
/// (15 s to connect, 30 s per statement), and a cancelled token waited out the connect timeout of a hung server.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungServerCliTests(FaultServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    /// <summary>How late beyond its bound a command may end: a command starts a tool (options, a fresh pool, JIT) on a loaded two-core machine; the faults were 15 to 60 s late.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> Environment => WithOperationTimeout(Timeout);

    private static Dictionary<string, string?> WithOperationTimeout(TimeSpan timeout) => new()
    {
        ["SessionStore__Postgres__OperationTimeout"] = timeout.ToString(),
        ["SessionStore__Redis__OperationTimeout"] = timeout.ToString(),
        ["SessionStore__UserIdSessionKey"] = "UserId",
    };

    /// <summary>The hung store, and each command that uses it without copying.</summary>
    public static TheoryData<string, string> HungStoreCommands => new()
    {
        { "PostgreSQL", "migrate" },
        { "PostgreSQL", "status" },
        { "PostgreSQL", "verify" },
        { "PostgreSQL", "stats" },
        { "PostgreSQL", "revoke" },
        { "Redis", "verify" },
        { "Redis", "stats" },
        { "Redis", "revoke" },
    };

    [Theory]
    [MemberData(nameof(HungStoreCommands))]
    public async Task A_command_against_a_hung_server_fails_within_the_operation_timeout_naming_the_store(string store, string command)
    {
        var table = await MigratedTableAsync();
        await using var freezer = await FreezerAsync(store);
        await freezer.FreezeAsync();

        var watch = Stopwatch.StartNew();
        var (exitCode, text) = await CliRunner.RunAsync(Environment, Token, Arguments(store, command, table));
        watch.Stop();
        await freezer.ThawAsync();

        output.WriteLine($"{command} on hung {store}: exit {exitCode} after {watch.ElapsedMilliseconds} ms (timeout {Timeout.TotalMilliseconds} ms): {text}");
        Assert.Equal(3, exitCode);
        Assert.Contains($"{store} could not be reached or failed", text, StringComparison.Ordinal);
        if (store == "PostgreSQL")
        {
            // Npgsql's timeouts say only "The operation has timed out": the message names the setting. A Redis that
            // does not answer the connect is reported as one that could not be reached, its driver's own words.
            Assert.Contains("SessionStore:Postgres:OperationTimeout", text, StringComparison.Ordinal);
        }
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, Timeout + Slack);
    }

    [Theory]
    [InlineData("PostgreSQL", "backfill")]
    [InlineData("PostgreSQL", "sync")]
    [InlineData("Redis", "backfill")]
    [InlineData("Redis", "sync")]
    public async Task A_copy_against_a_server_hung_mid_run_fails_within_the_operation_timeout_naming_it(string store, string command)
    {
        // The driver's own timeout took three times OperationTimeout: Npgsql then opens a connection to the hung server
        // to send its cancel request, waits its connect Timeout there, and (GssEncryptionMode=Prefer) does it twice.
        var table = await MigratedTableAsync();
        var prefix = await RedisCacheSessionsAsync("hungcopy");

        var checkpoint = Path.Combine(Path.GetTempPath(), $"hung-copy-{Guid.NewGuid():N}.json");
        string[] phase = command == "sync" ? ["--phase", "dual-redis-primary"] : [];
        var run = CliRunner.RunAsync(Environment, Token, [command, "--checkpoint", checkpoint, "--rate", "200", "--batch-size", "50", "--instance-name", prefix, .. phase, .. Stores(table)]);
        await UntilRowsAsync(table, 100);
        await using var freezer = await FreezerAsync(store);
        await freezer.FreezeAsync();
        var watch = Stopwatch.StartNew();
        var (exitCode, text) = await run;
        watch.Stop();
        await freezer.ThawAsync();

        output.WriteLine($"{command} with {store} hung mid-run: exit {exitCode} after {watch.ElapsedMilliseconds} ms (timeout {Timeout.TotalMilliseconds} ms): {text}");
        AssertGaveUpInTime(exitCode, text, watch.Elapsed, store, $"SessionStore:{(store == "Redis" ? "Redis" : "Postgres")}:OperationTimeout");
        Assert.Contains("in the middle of a batch", text, StringComparison.Ordinal);
        Assert.Matches(@"verify\s+--full", text); // the test console wraps at 200 columns
    }

    [Fact]
    public async Task A_revoke_with_the_secondary_hung_fails_naming_the_store_and_the_secondary_s_timeout()
    {
        // The secondary's revoke is bounded by the dual-write cache's SecondaryTimeout (here shorter than the store's
        // OperationTimeout): its timeout named neither the store (the CLI said "a server") nor a setting.
        var table = await MigratedTableAsync();
        await using var freezer = await FreezerAsync("PostgreSQL");
        await freezer.FreezeAsync();

        var watch = Stopwatch.StartNew();
        var environment = new Dictionary<string, string?>(Environment) { ["SessionStore__SecondaryTimeout"] = (Timeout / 2).ToString() };
        var (exitCode, text) = await CliRunner.RunAsync(environment, Token, ["revoke", "--user", "ada", "--phase", "dual-redis-primary", .. Stores(table)]);
        watch.Stop();
        await freezer.ThawAsync();

        output.WriteLine($"revoke in DualWriteRedisPrimary with PostgreSQL hung: exit {exitCode} after {watch.ElapsedMilliseconds} ms: {text}");
        AssertGaveUpInTime(exitCode, text, watch.Elapsed, "PostgreSQL", "SessionStore:SecondaryTimeout");
    }

    [Theory]
    [InlineData("PostgreSQL", "status")]
    [InlineData("Redis", "stats")]
    public async Task The_timeout_flag_bounds_a_command_against_a_hung_server_over_the_configured_timeout(string store, string command)
    {
        var table = await MigratedTableAsync();
        await using var freezer = await FreezerAsync(store);
        await freezer.FreezeAsync();

        // The configuration says 5 minutes; the flag, given last, wins for both stores.
        var watch = Stopwatch.StartNew();
        var (exitCode, text) = await CliRunner.RunAsync(WithOperationTimeout(TimeSpan.FromMinutes(5)), Token, [.. Arguments(store, command, table), "--timeout", Timeout.ToString()]);
        watch.Stop();
        await freezer.ThawAsync();

        output.WriteLine($"{command} --timeout {Timeout} on hung {store}: exit {exitCode} after {watch.ElapsedMilliseconds} ms: {text}");
        Assert.Equal(3, exitCode);
        Assert.Contains($"{store} could not be reached or failed", text, StringComparison.Ordinal);
        // The bound in force is the flag's: a statement's timeout named the configured setting, and told to give --timeout.
        Assert.Contains("--timeout", text, StringComparison.Ordinal);
        Assert.DoesNotContain("give --timeout", text, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, Timeout + Slack);
    }

    [Theory]
    [MemberData(nameof(HungStoreCommands))]
    public async Task Ctrl_C_stops_a_command_against_a_hung_server_at_once(string store, string command) =>
        await InterruptedAtOnceAsync(store, command, Arguments(store, command, await MigratedTableAsync()));

    [Theory]
    [InlineData("PostgreSQL", "backfill")]
    [InlineData("Redis", "backfill")]
    [InlineData("Redis", "sync")]
    public async Task Ctrl_C_stops_a_copy_at_once_before_its_first_batch_while_a_store_is_hung(string store, string command)
    {
        // Nothing is written before the first batch, so nothing needs to finish: it waited out the connect timeout, exit 3
        // (with Redis hung, 30 s of grace period, as the Redis connect took no token).
        var checkpoint = Path.Combine(Path.GetTempPath(), $"hung-{command}-{Guid.NewGuid():N}.json");
        string[] phase = command == "sync" ? ["--phase", "dual-redis-primary"] : [];
        var text = await InterruptedAtOnceAsync(store, command, [command, "--checkpoint", checkpoint, .. phase, .. Stores(await MigratedTableAsync())]);

        Assert.False(File.Exists(checkpoint));
        Assert.Contains("before its first checkpoint: run the same command again to start over", text, StringComparison.Ordinal); // not "resume from" a file that is not there
    }

    [Theory]
    [InlineData("text")]
    [InlineData("json")]
    public async Task An_interrupted_copy_whose_batch_hangs_past_the_grace_period_exits_130_saying_what_to_check(string format)
    {
        // The copy's statements wait a minute for the hung server; Ctrl+C waits for the batch in progress, but only for
        // the grace period (30 s in the tool, 2 s here). The process used to end then without a word.
        var table = await MigratedTableAsync();
        var prefix = await RedisCacheSessionsAsync("hunggrace");

        var grace = TimeSpan.FromSeconds(2);
        using var interrupt = new CancellationTokenSource();
        var checkpoint = Path.Combine(Path.GetTempPath(), $"hung-grace-{Guid.NewGuid():N}.json");
        var run = CliRunner.RunPlainAsync(WithOperationTimeout(TimeSpan.FromMinutes(1)), interrupt.Token, grace, ["backfill", "--checkpoint", checkpoint, "--rate", "200", "--batch-size", "50", "--instance-name", prefix, "--output", format, .. Stores(table)]);
        await UntilRowsAsync(table, 100);
        await using var freezer = await FreezerAsync("PostgreSQL");
        await freezer.FreezeAsync();
        await Task.Delay(300, Token); // the batch in progress is now waiting on the hung server
        var interruptedAt = Stopwatch.GetTimestamp();
        await interrupt.CancelAsync();
        var (exitCode, text) = await run;
        var waited = Stopwatch.GetElapsedTime(interruptedAt);
        await freezer.ThawAsync();

        output.WriteLine($"Interrupted copy with PostgreSQL hung: exit {exitCode} {waited.TotalMilliseconds:0} ms after Ctrl+C (grace {grace.TotalSeconds} s): {text}");
        Assert.Equal(130, exitCode);
        Assert.InRange(waited, grace - TimeSpan.FromMilliseconds(50), grace + Slack);
        if (format == "json")
        {
            // One JSON document, as every other outcome gives: the message would break a script's parser.
            using var report = System.Text.Json.JsonDocument.Parse(text);
            Assert.Equal("abandoned", report.RootElement.GetProperty("outcome").GetString()); // not a clean interrupt: verify --full first
            Assert.True(report.RootElement.GetProperty("copied").GetInt64() >= 100, text);
            return;
        }

        Assert.Contains("did not stop within 2 s", text, StringComparison.Ordinal);
        Assert.Contains("sessionstore verify --full", text, StringComparison.Ordinal);
        Assert.Matches(@"Copied\s+│?\s*[1-9]", text); // the summary of what it copied before, as an interrupted run prints
    }

    private async Task<string> InterruptedAtOnceAsync(string store, string command, string[] arguments)
    {
        await using var freezer = await FreezerAsync(store);
        await freezer.FreezeAsync();

        // A timeout far beyond the test's wait, so that only the cancellation can end the command.
        using var interrupt = new CancellationTokenSource();
        var run = CliRunner.RunAsync(WithOperationTimeout(TimeSpan.FromMinutes(1)), interrupt.Token, arguments);
        await Task.Delay(300, Token);
        Assert.False(run.IsCompleted, "The command ended before it was interrupted: the server is not hung.");
        var interruptedAt = Stopwatch.GetTimestamp();
        await interrupt.CancelAsync();
        var (exitCode, text) = await run;
        var latency = Stopwatch.GetElapsedTime(interruptedAt);
        await freezer.ThawAsync();

        output.WriteLine($"{command} on hung {store} ended {latency.TotalMilliseconds:0} ms after Ctrl+C, exit {exitCode}.");
        Assert.Equal(130, exitCode);
        Assert.InRange(latency, TimeSpan.Zero, Slack);
        return text;
    }

    [Fact]
    public async Task Migrate_waiting_for_another_migration_s_lock_fails_after_the_operation_timeout()
    {
        var table = await MigratedTableAsync();
        // Unpooled: closing it is what releases the session-level lock.
        await using var holder = new NpgsqlConnection(servers.PostgresConnectionString + ";Pooling=false");
        await holder.OpenAsync(Token);
        await using (var hold = new NpgsqlCommand("SELECT pg_advisory_lock(hashtext('sessionstore.migrate:public'))", holder))
        {
            await hold.ExecuteNonQueryAsync(Token);
        }

        var watch = Stopwatch.StartNew();
        var (exitCode, text) = await CliRunner.RunAsync(Environment, Token, "migrate", "--postgres", servers.PostgresConnectionString, "--table", table);
        watch.Stop();

        output.WriteLine($"migrate behind a held migration lock: exit {exitCode} after {watch.ElapsedMilliseconds} ms: {text}");
        Assert.Equal(3, exitCode);
        Assert.Contains("no answer within SessionStore:Postgres:OperationTimeout", text, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, Timeout - TimeSpan.FromMilliseconds(50), Timeout + Slack);
    }

    /// <summary>The command line of <paramref name="command"/> on <paramref name="table"/>, with the stores it needs; <paramref name="store"/> is the hung one.</summary>
    private string[] Arguments(string store, string command, string table) => command switch
    {
        "migrate" or "status" => [command, "--postgres", servers.PostgresConnectionString, "--table", table],
        "revoke" => [command, "--user", "ada", "--phase", store == "Redis" ? "RedisOnly" : "PostgresOnly", .. Stores(table)],
        _ => [command, .. Stores(table)],
    };

    private string[] Stores(string table) => ["--postgres", servers.PostgresConnectionString, "--redis", servers.RedisConfiguration, "--table", table];

    private Task<ProcessFreezer> FreezerAsync(string store) => store == "Redis" ? servers.RedisFreezerAsync() : servers.PostgresFreezerAsync();

    /// <summary>Exit 3 within the bound (plus <see cref="Slack"/>), naming the store and the setting to raise.</summary>
    private static void AssertGaveUpInTime(int exitCode, string text, TimeSpan elapsed, string store, string setting)
    {
        Assert.Equal(3, exitCode);
        Assert.Contains($"{store} could not be reached or failed", text, StringComparison.Ordinal);
        Assert.Contains(setting, text, StringComparison.Ordinal);
        Assert.InRange(elapsed, TimeSpan.Zero, Timeout + Slack);
    }

    /// <summary>Waits until <paramref name="table"/> holds at least <paramref name="rows"/> rows: a copy is under way.</summary>
    private async Task UntilRowsAsync(string table, long rows)
    {
        await using var dataSource = NpgsqlDataSource.Create(servers.PostgresConnectionString);
        var waited = Stopwatch.StartNew();
        while ((long)(await dataSource.CreateCommand($"SELECT count(*) FROM public.\"{table}\"").ExecuteScalarAsync(Token))! < rows)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"The copy did not reach {rows} rows in 30 s.");
            await Task.Delay(50, Token);
        }
    }

    /// <summary>2,000 sessions written by Microsoft's RedisCache under a new instance prefix, which it returns: a copy of them takes a while.</summary>
    private async Task<string> RedisCacheSessionsAsync(string name)
    {
        var prefix = $"{name}-{Guid.NewGuid():N}:";
        using var theirs = new Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache(Options.Create(new RedisCacheOptions { Configuration = servers.RedisConfiguration, InstanceName = prefix }));
        await Task.WhenAll(Enumerable.Range(0, 2_000).Select(i =>
            theirs.SetAsync($"s{i}", MigrationScenario.Session(i), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token)));
        return prefix;
    }

    /// <summary>A session table at the latest schema version (with its fleet table), created while the server answers.</summary>
    private async Task<string> MigratedTableAsync()
    {
        var table = PostgresServer.UniqueTableName("hungcli");
        await using var dataSource = NpgsqlDataSource.Create(servers.PostgresConnectionString);
        await new PostgresSchemaMigrator(dataSource, "public", table).MigrateAsync(Token);
        return table;
    }
}
