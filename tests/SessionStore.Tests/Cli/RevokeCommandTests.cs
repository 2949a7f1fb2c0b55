using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary><c>sessionstore revoke</c>: refused without a user key, complete for RedisCache-written sessions, and silent about the user.</summary>
public sealed class RevokeCommandTests(PostgresServer postgres, RedisServer redis)
{
    private const string User = "ada.lovelace@example.com";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Revoke_without_a_UserIdSessionKey_exits_2_before_touching_anything()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(4, userOf: _ => User);
        await CliRunner.RunAsync(VerifyCommandTests.Environment(scenario), Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario)]);
        var indexKey = scenario.Prefix + "sessionstore:user:" + User;
        Assert.True(await scenario.Redis.KeyExistsAsync(indexKey));

        var (exitCode, output) = await CliRunner.RunAsync(null, Token, ["revoke", "--user", User, .. CliRunner.Flags(scenario)]);

        Assert.Equal(2, exitCode);
        Assert.Contains("UserIdSessionKey", output, StringComparison.Ordinal);
        Assert.Equal(keys.ToHashSet(), await scenario.PostgresKeysAsync());
        Assert.Equal(keys.ToHashSet(), await scenario.RedisKeysAsync());
        Assert.True(await scenario.Redis.KeyExistsAsync(indexKey));
    }

    [Theory]
    [InlineData("redis-only")]
    [InlineData("dual-redis-primary")]
    [InlineData("dual-pg-primary")]
    public async Task Sessions_written_by_RedisCache_are_revoked_in_Redis_once_the_backfill_has_indexed_them(string phase)
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(6, userOf: i => i < 4 ? User : "bob");
        var environment = VerifyCommandTests.Environment(scenario);
        await CliRunner.RunAsync(environment, Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario)]);

        var (exitCode, output) = await CliRunner.RunAsync(environment, Token, ["revoke", "--user", User, .. CliRunner.Flags(scenario, phase)]);

        Assert.Equal(0, exitCode);
        Assert.Contains("4 session(s) of the user revoked", output, StringComparison.Ordinal);
        Assert.DoesNotContain(User, output, StringComparison.Ordinal);
        Assert.Equal(keys[4..].ToHashSet(), await scenario.RedisKeysAsync());
        if (phase != "redis-only")
        {
            Assert.Equal(keys[4..].ToHashSet(), await scenario.PostgresKeysAsync());
        }
    }

    [Fact]
    public async Task Revoke_in_PostgresOnly_reports_the_sessions_it_cleared_from_the_Redis_the_phase_no_longer_uses()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(5, userOf: i => i < 3 ? User : "bob");
        var environment = VerifyCommandTests.Environment(scenario);
        await CliRunner.RunAsync(environment, Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario)]);

        var (exitCode, output) = await CliRunner.RunAsync(environment, Token, ["revoke", "--user", User, .. CliRunner.Flags(scenario, "pg-only")]);

        Assert.True(exitCode == 0, output);
        Assert.Contains("PostgreSQL (primary): 3 session(s) of the user revoked.", output, StringComparison.Ordinal);
        Assert.Contains("Redis (not used by phase PostgresOnly): 3 session(s) of the user revoked.", output, StringComparison.Ordinal);
        Assert.Equal(keys[3..].ToHashSet(), await scenario.RedisKeysAsync());
        Assert.Equal(keys[3..].ToHashSet(), await scenario.PostgresKeysAsync());
    }

    [Fact]
    public async Task Revoke_prints_only_the_sessions_that_had_not_expired_in_PostgreSQL()
    {
        // Expired rows wait for the cleanup; they were counted as sessions revoked (3 here, not 1).
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid().ToString()).ToArray();
        for (var i = 0; i < keys.Length; i++)
        {
            await scenario.Postgres.SetAsync(keys[i], MigrationScenario.Session(i, User), new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        }

        await scenario.ScalarAsync("UPDATE {table} SET expire = now() - interval '1 minute' WHERE sid = ANY($1)", (object)keys[1..]);

        var (exitCode, output) = await CliRunner.RunAsync(VerifyCommandTests.Environment(scenario), Token, ["revoke", "--user", User, .. CliRunner.Flags(scenario, "pg-only")]);

        Assert.True(exitCode == 0, output);
        Assert.Contains("PostgreSQL (primary): 1 session(s) of the user revoked.", output, StringComparison.Ordinal);
        Assert.Equal(0L, await scenario.ScalarAsync("SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task Revoke_of_a_user_id_with_an_unpaired_surrogate_exits_2_before_touching_anything()
    {
        // Encoded as U+FFFD it named the user below: Redis dropped that user's sessions from its index (their own
        // revoke then missed them) before PostgreSQL failed with EncoderFallbackException.
        var victim = User + "\uFFFD";
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(3, userOf: _ => victim);
        var environment = VerifyCommandTests.Environment(scenario);
        await CliRunner.RunAsync(environment, Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario)]);
        var indexKey = scenario.Prefix + "sessionstore:user:" + victim;
        Assert.Equal(3, await scenario.Redis.SetLengthAsync(indexKey));

        var (exitCode, output) = await CliRunner.RunAsync(environment, Token, ["revoke", "--user", User + "\uD800", .. CliRunner.Flags(scenario)]);

        Assert.True(exitCode == 2, output);
        Assert.Contains("unpaired surrogate", output, StringComparison.Ordinal);
        Assert.DoesNotContain(User, output, StringComparison.Ordinal);
        Assert.Equal(3, await scenario.Redis.SetLengthAsync(indexKey));
        Assert.Equal(keys.ToHashSet(), await scenario.RedisKeysAsync());
        Assert.Equal(keys.ToHashSet(), await scenario.PostgresKeysAsync());
    }

    [Theory]
    [InlineData("dual-pg-primary", "Redis (secondary): not revoked, the store failed")]
    [InlineData("pg-only", "Redis (not used by phase PostgresOnly): not revoked: it failed or did not answer")]
    [InlineData("pg-only", "Redis (not used by phase PostgresOnly): not revoked: it failed or did not answer", "0")] // no catch-up to take it: still 3, not 2
    public async Task Revoke_with_Redis_down_says_PostgreSQL_is_revoked_and_exits_3(string phase, string redisLine, string? catchUpCapacity = null)
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(4, userOf: i => i < 2 ? User : "bob");
        var environment = VerifyCommandTests.Environment(scenario);
        if (catchUpCapacity is not null)
        {
            environment["SessionStore__CatchUpCapacity"] = catchUpCapacity;
        }
        await CliRunner.RunAsync(environment, Token, ["backfill", "--checkpoint", VerifyCommandTests.TempFile(), .. CliRunner.Flags(scenario)]);
        var flags = CliRunner.Flags(scenario, phase);
        flags[Array.IndexOf(flags, "--redis") + 1] = "127.0.0.1:1,connectTimeout=500";

        var (exitCode, output) = await CliRunner.RunAsync(environment, Token, ["revoke", "--user", User, .. flags]);

        Assert.True(exitCode == 3, output);
        Assert.Contains("PostgreSQL (primary): 2 session(s) of the user revoked.", output, StringComparison.Ordinal);
        Assert.Contains(redisLine, output, StringComparison.Ordinal);
        Assert.DoesNotContain(User, output, StringComparison.Ordinal);
        Assert.Equal(keys[2..].ToHashSet(), await scenario.PostgresKeysAsync());
    }

    [Fact]
    public async Task A_failed_revoke_logs_neither_the_user_id_nor_a_hash_of_it()
    {
        // RedisOnly with PostgreSQL configured but down: the revoke in the idle store fails and is logged.
        var settings = new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "RedisOnly",
            ["SessionStore:Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Timeout=1",
            ["SessionStore:Redis:Configuration"] = redis.Configuration,
            ["SessionStore:Redis:InstanceName"] = $"revoke-{Guid.NewGuid():N}:",
            ["SessionStore:UserIdSessionKey"] = "UserId",
        };
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Trace));
        services.AddDualWriteSessionStore(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("SessionStore"));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<IUserSessionRevoker>().RevokeUserSessionsAsync(User, Token);

        var logs = provider.GetRequiredService<FakeLogCollector>().GetSnapshot();
        var revokeFailure = Assert.Single(logs, r => r.Message.Contains("revoke", StringComparison.Ordinal));
        var hash = SessionStore.Internal.KeyHash.Of(User);
        Assert.All(logs, r =>
        {
            var text = r.Message + string.Join(" ", r.StructuredState?.Select(s => s.Value) ?? []);
            Assert.DoesNotContain(User, text, StringComparison.Ordinal);
            Assert.DoesNotContain(hash, text, StringComparison.Ordinal);
        });
        Assert.NotNull(revokeFailure.Exception);
    }
}
