using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using SessionStore.Cleanup;
using SessionStore.Migration;
using SessionStore.Postgres;
using SessionStore.Tests.Cli;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Tests.Security;

/// <summary>
/// Every hostile schema and table name of <see cref="HostileIdentifiers"/> through every path that builds SQL from
/// them: each is either refused before any I/O, with an error naming the option, the value and the rule, or used
/// verbatim as one quoted identifier. pg_stat_statements on a server of the suite's own proves that no statement of
/// a shape outside those a run on harmless names executes ran.
/// </summary>
public sealed partial class HostileIdentifierTests(CanaryPostgres canary, RedisServer redis) : IClassFixture<CanaryPostgres>
{
    // Tables are spread over several schemas: the migrator takes one lock per schema, which would make the run serial.
    private const int Schemas = 8;

    // Nothing listens there: a path that touched the network before refusing would fail with a connection error.
    private const string Unreachable = "Host=127.0.0.1;Port=1;Timeout=1";

    private static readonly PostgresPartitioningOptions Partitioning = new() { Interval = TimeSpan.FromHours(1), Horizon = TimeSpan.FromHours(1) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public enum Role
    {
        Table,
        Schema,
    }

    [Fact]
    public async Task Every_hostile_name_is_refused_before_IO_or_used_verbatim_on_every_path_and_no_other_statement_runs()
    {
        var connectionString = canary.ConnectionString;
        Assert.True(HostileIdentifiers.All.Count >= 300, $"only {HostileIdentifiers.All.Count} hostile names");
        var prefix = $"hostile-{Guid.NewGuid():N}:";
        using (var theirs = new MicrosoftRedisCache(Options.Create(new RedisCacheOptions { Configuration = redis.Configuration, InstanceName = prefix })))
        {
            await theirs.SetAsync(Guid.NewGuid().ToString(), MigrationScenario.Session(1, "u1"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        }

        // The statements of a run on harmless names, the same paths in the same order.
        await canary.ResetAsync();
        foreach (var name in new[] { "baseline", "Baseline Two" })
        {
            foreach (var role in Enum.GetValues<Role>())
            {
                Assert.Equal("accepted", await RunAsync(connectionString, prefix, name, role, deep: true));
            }
        }

        var (expected, _, _) = await canary.StatementsAsync();

        await canary.ResetAsync();
        var outcomes = new ConcurrentBag<(string Name, Role Role, string Outcome)>();
        var items = HostileIdentifiers.All
            .SelectMany((name, index) => Enum.GetValues<Role>().Select(role => (name, role, deep: role == Role.Table && IsDeep(name, index)))).ToList();
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Token }, async (item, _) =>
            outcomes.Add((item.name, item.role, await RunAsync(connectionString, prefix, item.name, item.role, item.deep) + (item.deep ? " (deep)" : ""))));
        var (shapes, texts, evicted) = await canary.StatementsAsync();

        Assert.Equal(0, evicted);
        var unexpected = shapes.Except(expected).Order(StringComparer.Ordinal).ToList();
        Assert.True(unexpected.Count == 0, "Statements of a shape no harmless name produces:\n" + string.Join("\n", unexpected));
        Assert.DoesNotContain(shapes, s => Forbidden().IsMatch(s));
        Assert.False(File.Exists(HostileIdentifiers.CanaryFile));
        await using (var command = canary.DataSource.CreateCommand("SELECT count(*) FROM pg_class WHERE relname = $1"))
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = HostileIdentifiers.CanaryTable });
            Assert.Equal(0L, await command.ExecuteScalarAsync(Token));
        }

        var summary = outcomes.GroupBy(o => (o.Role, o.Outcome.Split(':')[0])).OrderBy(g => g.Key.Role).ThenBy(g => g.Key.Item2, StringComparer.Ordinal)
            .Select(g => $"{g.Key.Role} {g.Key.Item2}: {g.Count()}");
        var message = $"{HostileIdentifiers.All.Count} hostile names x {Enum.GetValues<Role>().Length} roles = {outcomes.Count} cases, {texts.Count} distinct statements recorded: " +
            string.Join("; ", summary);
        if (Environment.GetEnvironmentVariable("SESSIONSTORE_HOSTILE_REPORT") is { Length: > 0 } report)
        {
            await File.WriteAllLinesAsync(report, [message, .. outcomes.OrderBy(o => o.Role).ThenBy(o => o.Name, StringComparer.Ordinal).Select(o => $"{o.Role}\t{HostileIdentifiers.Describe(o.Name)}\t{o.Outcome}")], Token);
        }

        TestContext.Current.SendDiagnosticMessage(message);
    }

    /// <summary>
    /// Whether a name also goes through the paths that open connections of their own (partitioned layout, backfill,
    /// verify, stats, the CLI's migrate): every fifth, and every name carrying an injection attempt. Every name goes
    /// through validation, every statement builder, the migrator, the cache and the cleanup.
    /// </summary>
    private static bool IsDeep(string name, int index) =>
        index % 5 == 0 || name.Contains("pg_sleep", StringComparison.Ordinal) || name.Contains("COPY", StringComparison.Ordinal);

    /// <summary>Runs every path with <paramref name="name"/> as the table or the schema; returns "accepted" or "refused: rule".</summary>
    private async Task<string> RunAsync(string connectionString, string redisPrefix, string name, Role role, bool deep)
    {
        var spread = (int)((uint)StringComparer.Ordinal.GetHashCode(name) % Schemas);
        var (schema, table) = role == Role.Table ? ($"hostile plain {spread}", name) : (name, "sessions");
        var (partitionedSchema, partitionedTable) = role == Role.Table ? ($"hostile partitioned {spread}", name) : (name, "sessions_p");
        var describe = $"{role} {HostileIdentifiers.Describe(name)}";
        var refusal = ExpectedRefusal(name, role, partitioned: false);
        if (refusal is not null)
        {
            await AssertRefusedAsync(schema, table, partitioning: null, refusal, describe);
            return $"refused: {refusal}";
        }

        await AssertAcceptedAsync(connectionString, redisPrefix, schema, table, describe, deep);
        if (ExpectedRefusal(name, role, partitioned: true) is { } partitionedRefusal)
        {
            await AssertRefusedAsync(partitionedSchema, partitionedTable, Partitioning, partitionedRefusal, describe + " partitioned");
            return $"accepted plain, refused partitioned: {partitionedRefusal}";
        }

        if (deep)
        {
            await AssertPartitionedAcceptedAsync(connectionString, partitionedSchema, partitionedTable, describe + " partitioned");
        }

        return "accepted";
    }

    /// <summary>The rule a name breaks, decided here independently of the code under test; null when it breaks none.</summary>
    private static string? ExpectedRefusal(string name, Role role, bool partitioned)
    {
        var limit = role == Role.Schema ? 63 : partitioned ? 48 : 50;
        return name.Length == 0 ? "empty"
            : name.Contains('\0', StringComparison.Ordinal) ? "NUL"
            : HasLoneSurrogate(name) ? "lone surrogate"
            : char.IsWhiteSpace(name[0]) || char.IsWhiteSpace(name[^1]) ? "white space at an end"
            : name.Contains("{{", StringComparison.Ordinal) || name.Contains("}}", StringComparison.Ordinal) ? "placeholder syntax"
            : Encoding.UTF8.GetByteCount(name) > limit ? $"over {limit} bytes"
            : role == Role.Schema && name.StartsWith("pg_", StringComparison.Ordinal) ? "pg_ prefix"
            : null;
    }

    private static readonly Dictionary<string, string> RuleText = new(StringComparer.Ordinal)
    {
        ["empty"] = "is empty",
        ["NUL"] = "NUL character",
        ["lone surrogate"] = "lone surrogate",
        ["white space at an end"] = "begins or ends with white space",
        ["placeholder syntax"] = "placeholder syntax",
        ["pg_ prefix"] = "reserves for system schemas",
    };

    private static void AssertMessage(string message, string option, string rule, string describe)
    {
        var text = RuleText.GetValueOrDefault(rule, "bytes of UTF-8;");
        Assert.True(message.Contains(option, StringComparison.Ordinal) && message.Contains(text, StringComparison.Ordinal),
            $"{describe}: the error does not name {option} and the rule '{text}': {message}");
    }

    private static async Task AssertRefusedAsync(string schema, string table, PostgresPartitioningOptions? partitioning, string rule, string describe)
    {
        var option = ExpectedRefusal(schema, Role.Schema, false) is null ? nameof(PostgresSessionCacheOptions.TableName) : nameof(PostgresSessionCacheOptions.SchemaName);
        var options = CacheOptions(Unreachable, schema, table, partitioning);
        AssertMessage(string.Join(" ", options.Validate()), option, rule, describe + " Validate");
        AssertMessage(Assert.Throws<OptionsValidationException>(() => new PostgresSessionCache(options)).Message, option, rule, describe + " cache");
        using var offline = Npgsql.NpgsqlDataSource.Create(Unreachable);
        AssertMessage(Assert.ThrowsAny<ArgumentException>(() => new PostgresSchemaMigrator(offline, schema, table, partitioning)).Message, option, rule, describe + " migrator");
        AssertMessage(Assert.ThrowsAny<ArgumentException>(() => new PostgresSchemaMigrator(offline, options)).Message, option, rule, describe + " migrator(options)");

        var store = StoreOptions(Unreachable, schema, table, partitioning, "127.0.0.1:1,connectTimeout=100,abortConnect=false", "none:");
        AssertMessage((await Assert.ThrowsAsync<OptionsValidationException>(() => new RedisToPostgresBackfill(store).RunAsync(new BackfillOptions(), cancellationToken: Token))).Message, option, rule, describe + " backfill");
        AssertMessage((await Assert.ThrowsAsync<OptionsValidationException>(() => new SessionStoreVerifier(store).VerifyAsync(new VerificationOptions { Full = true }, Token))).Message, option, rule, describe + " verify");
        var postgresOnly = StoreOptions(Unreachable, schema, table, partitioning, redis: null, prefix: null);
        AssertMessage((await Assert.ThrowsAnyAsync<ArgumentException>(() => StorageStatistics.CollectAsync(postgresOnly, Token))).Message, option, rule, describe + " stats");

        if (partitioning is null)
        {
            foreach (var dryRun in new[] { true, false })
            {
                // A command line cannot give an option an empty value; the environment can.
                var environment = new Dictionary<string, string?>();
                List<string> args = ["migrate", "--postgres", Unreachable];
                foreach (var (flag, key, value) in new[] { ("--schema", "SchemaName", schema), ("--table", "TableName", table) })
                {
                    if (value.Length == 0)
                    {
                        environment[$"SessionStore__Postgres__{key}"] = value;
                    }
                    else
                    {
                        args.Add($"{flag}={value}");
                    }
                }

                if (dryRun)
                {
                    args.Add("--dry-run");
                }

                var (exitCode, output) = await CliRunner.RunAsync(environment, Token, [.. args]);
                Assert.True(exitCode == 2, $"{describe} cli (dry run {dryRun}): exit {exitCode}: {output}");
                AssertMessage(output, option, rule, describe + " cli");
            }
        }
    }

    private async Task AssertAcceptedAsync(string connectionString, string redisPrefix, string schema, string table, string describe, bool deep)
    {
        var dataSource = canary.DataSource;
        var migrator = new PostgresSchemaMigrator(dataSource, schema, table);
        Assert.Contains($"CREATE TABLE IF NOT EXISTS {Quote(schema)}.{Quote(table)} (", migrator.GetScript(), StringComparison.Ordinal);
        await migrator.MigrateAsync(Token);
        foreach (var relation in new[] { table, table + "_expire_idx", table + "_user_id_idx", table + "_last_cleanup" })
        {
            Assert.True(await ExistsAsync(dataSource, schema, relation), $"{describe}: {HostileIdentifiers.Describe(relation)} is not in pg_class under that exact name");
        }

        var options = CacheOptions(connectionString, schema, table, partitioning: null);
        options.DataSource = dataSource;
        using (var cache = new PostgresSessionCache(options))
        {
            await ExerciseCacheAsync(cache, describe);
            var cleanup = await new PostgresSessionCleaner(cache, new PostgresCleanupOptions()).RunOnceAsync(Token);
            Assert.False(cleanup.SkippedBecauseLocked, describe);
        }

        (var exitCode, var output) = await CliRunner.RunAsync(new Dictionary<string, string?>(), Token, "migrate", "--dry-run", $"--schema={schema}", $"--table={table}");
        Assert.True(exitCode == 0 && output.Contains($"{Quote(schema)}.{Quote(table)}", StringComparison.Ordinal), $"{describe} cli dry run: exit {exitCode}: {output}");
        if (!deep)
        {
            return;
        }

        var store = StoreOptions(connectionString, schema, table, partitioning: null, redis.Configuration, redisPrefix);
        store.Postgres.DataSource = dataSource;
        var backfill = await new RedisToPostgresBackfill(store).RunAsync(new BackfillOptions(), cancellationToken: Token);
        Assert.True(backfill.Completed && backfill.Copied + backfill.AlreadyPresent == 1, $"{describe}: backfill copied {backfill.Copied}");
        var verification = await new SessionStoreVerifier(store).VerifyAsync(new VerificationOptions { Full = true }, Token);
        Assert.True(verification.Compared >= 1, describe);
        var postgresOnly = StoreOptions(connectionString, schema, table, partitioning: null, redis: null, prefix: null);
        postgresOnly.Postgres.DataSource = dataSource;
        var statistics = await StorageStatistics.CollectAsync(postgresOnly, Token);
        Assert.True(statistics.PostgresLiveSessions == 1 && statistics.LastCleanupFinishedAt is not null, $"{describe}: stats {statistics.PostgresLiveSessions}");

        (exitCode, output) = await CliRunner.RunAsync(new Dictionary<string, string?>(), Token,
            "migrate", "--postgres", connectionString, $"--schema={schema}", $"--table={table}");
        Assert.True(exitCode == 0 && output.Contains("up to date", StringComparison.Ordinal), $"{describe} cli: exit {exitCode}: {output}");
    }

    private async Task AssertPartitionedAcceptedAsync(string connectionString, string schema, string table, string describe)
    {
        var dataSource = canary.DataSource;
        await new PostgresSchemaMigrator(dataSource, schema, table, Partitioning).MigrateAsync(Token);
        var options = CacheOptions(connectionString, schema, table, Partitioning);
        options.DataSource = dataSource;
        using (var cache = new PostgresSessionCache(options))
        {
            await ExerciseCacheAsync(cache, describe);
            var cleanup = await new PostgresSessionCleaner(cache, new PostgresCleanupOptions()).RunOnceAsync(Token);
            Assert.False(cleanup.SkippedBecauseLocked, describe);
        }

        foreach (var relation in new[] { table, table + "_forever", table + "_partitioning", table + "_expire_idx", table + "_user_id_idx" })
        {
            Assert.True(await ExistsAsync(dataSource, schema, relation), $"{describe}: {HostileIdentifiers.Describe(relation)} is not in pg_class under that exact name");
        }

        await using var command = dataSource.CreateCommand("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE n.nspname = $1 AND p.relname = $2
            """);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = schema });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = table });
        var partitions = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Token))
        {
            while (await reader.ReadAsync(Token))
            {
                partitions.Add(reader.GetString(0));
            }
        }

        Assert.Contains(table + "_forever", partitions);
        Assert.True(partitions.Count(p => p.StartsWith(table + "_", StringComparison.Ordinal) && Timestamp().IsMatch(p[(table.Length + 1)..])) >= 1,
            $"{describe}: no partition named after the table: {string.Join(", ", partitions)}");
    }

    private static async Task ExerciseCacheAsync(PostgresSessionCache cache, string describe)
    {
        var key = Guid.NewGuid().ToString();
        var value = MigrationScenario.Session(7, "user-7");
        var entry = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) };
        await cache.SetAsync(key, value, entry, Token);
        Assert.Equal(value, await cache.GetAsync(key, Token));
        await cache.RefreshAsync(key, Token);
        Assert.Equal(1L, await cache.RevokeUserSessionsAsync("user-7", Token));
        Assert.Null(await cache.GetAsync(key, Token));
        await cache.SetAsync(key, value, entry, Token);
        await cache.RemoveAsync(key, Token);
        Assert.Null(await cache.GetAsync(key, Token));
    }

    private static PostgresSessionCacheOptions CacheOptions(string connectionString, string schema, string table, PostgresPartitioningOptions? partitioning) => new()
    {
        ConnectionString = connectionString,
        SchemaName = schema,
        TableName = table,
        Partitioning = partitioning,
        UserIdSessionKey = "UserId",
    };

    private static SessionStoreOptions StoreOptions(string connectionString, string schema, string table, PostgresPartitioningOptions? partitioning, string? redis, string? prefix)
    {
        var options = new SessionStoreOptions { Phase = SessionStorePhase.DualWriteRedisPrimary, UserIdSessionKey = "UserId" };
        options.Postgres.ConnectionString = connectionString;
        options.Postgres.SchemaName = schema;
        options.Postgres.TableName = table;
        options.Postgres.Partitioning = partitioning;
        options.Redis.Configuration = redis;
        options.Redis.InstanceName = prefix;
        return options;
    }

    private static async Task<bool> ExistsAsync(Npgsql.NpgsqlDataSource dataSource, string schema, string relation)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = schema });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = relation });
        return (bool)(await command.ExecuteScalarAsync(Token))!;
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

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

    [GeneratedRegex(@"^\d{14}$")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"pg_sleep|\bCOPY\b|\bPROGRAM\b|DROP SCHEMA|sessionstore_canary", RegexOptions.IgnoreCase)]
    private static partial Regex Forbidden();
}
