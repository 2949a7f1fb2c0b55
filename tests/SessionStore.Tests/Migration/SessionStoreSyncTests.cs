using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.LocalServers;
using SessionStore.Migration;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.Migration;

/// <summary>
/// <c>SessionStoreSync</c> on real servers: Redis restarted empty under an application in DualWritePostgresPrimary,
/// sessions removed while the sync runs, and older copies on the secondary.
/// </summary>
[Collection(typeof(BackfillCollection))]
public sealed class SessionStoreSyncTests(PostgresServer postgres, RedisServer redis, ITestOutputHelper output)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static DistributedCacheEntryOptions Sliding => new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    [Fact]
    public async Task Redis_restarted_empty_in_DualWritePostgresPrimary_is_GO_after_sync_with_0_resurrected_sessions()
    {
        if (LocalRedis.FindBinary() is not { } binary)
        {
            Assert.Skip("redis-server is not installed: this test restarts a Redis server of its own.");
            return;
        }

        await using var ownRedis = await LocalRedis.StartAsync(binary, Token);
        var table = PostgresServer.UniqueTableName("sync");
        var settings = new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "DualWritePostgresPrimary",
            ["SessionStore:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["SessionStore:Postgres:TableName"] = table,
            ["SessionStore:Postgres:CreateTableIfMissing"] = "true",
            ["SessionStore:Redis:Configuration"] = ownRedis.Configuration + ",abortConnect=false,connectRetry=10",
            ["SessionStore:Redis:InstanceName"] = "app:",
            ["SessionStore:UserIdSessionKey"] = "UserId",
            ["SessionStore:ComparisonSampleRate"] = "0",
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("SessionStore");
        var services = new ServiceCollection();
        services.AddDualWriteSessionStore(configuration);
        await using var provider = services.BuildServiceProvider();
        var app = provider.GetRequiredService<IDistributedCache>();
        var options = new SessionStoreOptions();
        configuration.Bind(options);

        var keys = Enumerable.Range(0, 600).Select(i => $"s{i:D4}-{Guid.NewGuid()}").ToArray();
        foreach (var (key, i) in keys.Select((k, i) => (k, i)))
        {
            await app.SetAsync(key, MigrationScenario.Session(i, $"user{i % 7}"), Sliding, Token);
        }

        await ownRedis.KillAsync();
        await ownRedis.RestartAsync(Token);
        await WaitUntilTheAppReachesRedisAsync(app, ownRedis.Configuration);
        var before = await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { Full = true }, Token);

        // Logouts through the application (PostgreSQL, the primary, first; then Redis) before and during the sync,
        // and one exactly between a copy and its check: none may come back in Redis.
        var removed = new List<string>();
        foreach (var key in keys.Take(50))
        {
            await app.RemoveAsync(key, Token);
            removed.Add(key);
        }

        using var stop = new CancellationTokenSource();
        var remover = Task.Run(async () =>
        {
            foreach (var key in keys.Skip(50).Where((_, i) => i % 5 == 0))
            {
                if (stop.IsCancellationRequested)
                {
                    break;
                }

                await app.RemoveAsync(key, CancellationToken.None);
                lock (removed)
                {
                    removed.Add(key);
                }

                await Task.Delay(2, CancellationToken.None);
            }
        }, CancellationToken.None);

        string? loggedOutInTheWindow = null;
        var sync = new SessionStoreSync(options, source => new BeforeHoldCheckSource(source, async copied =>
        {
            if (loggedOutInTheWindow is null)
            {
                loggedOutInTheWindow = copied[^1];
                using var direct = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = table });
                await direct.RemoveAsync(loggedOutInTheWindow, CancellationToken.None);
            }
        }));
        var result = await sync.RunAsync(new BackfillOptions { BatchSize = 100, RatePerSecond = 2_000 }, cancellationToken: Token);
        await stop.CancelAsync();
        await remover;
        removed.Add(loggedOutInTheWindow!);
        var after = await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { Full = true }, Token);

        output.WriteLine($"Before sync: Redis {before.RedisLiveSessions}, PostgreSQL {before.PostgresLiveSessions}, missing {before.Mismatches[SessionStore.DualWrite.SessionMismatchKind.MissingInSecondary]}. " +
            $"Sync: {result.Scanned} scanned, {result.Copied} copied, {result.Replaced} replaced, {result.AlreadyPresent} present, {result.ResurrectionsAvoided} resurrections avoided. " +
            $"After: Redis {after.RedisLiveSessions}, PostgreSQL {after.PostgresLiveSessions}; {removed.Count} removed.");
        Assert.False(before.IsReadyForNextPhase);
        Assert.Equal(0, before.RedisLiveSessions);
        Assert.True(result.ResurrectionsAvoided >= 1);
        Assert.True(after.IsReadyForNextPhase, "verify is not GO after sync");
        Assert.All(after.Mismatches.Values, count => Assert.Equal(0, count));

        var inRedis = await RedisKeysAsync(ownRedis.Configuration, "app:");
        Assert.Empty(inRedis.Intersect(removed));                 // 0 resurrected
        Assert.Equal(keys.Except(removed).ToHashSet(), inRedis);  // every live session back
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // a partitioned table returned no row version from its insert: every copy failed
    public async Task An_older_secondary_copy_is_replaced_and_a_missing_one_copied_in_DualWriteRedisPrimary(bool partitioned)
    {
        using var scenario = new MigrationScenario(postgres, redis, partitioning: partitioned ? new PostgresPartitioningOptions() : null);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(10);
        await new RedisToPostgresBackfill(scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);
        await scenario.Postgres.SetAsync(keys[0], MigrationScenario.Session(900), Sliding, Token); // stale in the secondary
        await scenario.Postgres.RemoveAsync(keys[1], Token);                                      // lost by the secondary

        var result = await new SessionStoreSync(scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);
        var verdict = await new SessionStoreVerifier(scenario.Options()).VerifyAsync(new VerificationOptions { Full = true }, Token);

        Assert.Equal((10, 1, 1, 8), (result.Scanned, result.Copied, result.Replaced, result.AlreadyPresent));
        Assert.Equal(MigrationScenario.Session(0), await scenario.Postgres.GetAsync(keys[0], Token));
        Assert.Equal(MigrationScenario.Session(1), await scenario.Postgres.GetAsync(keys[1], Token));
        Assert.True(verdict.IsReadyForNextPhase);
    }

    [Fact]
    public async Task A_write_the_application_makes_after_the_secondary_was_read_is_never_overwritten()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = await scenario.WriteRedisSessionsAsync(3);
        await new RedisToPostgresBackfill(scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);
        foreach (var key in keys)
        {
            await scenario.Postgres.SetAsync(key, MigrationScenario.Session(900), Sliding, Token); // the secondary is stale
        }

        // Rewritten in PostgreSQL (standing in for a dual write the application makes) after the sync read it but
        // before its conditional write: the write must not land.
        var table = new SessionStore.Migration.Internal.PostgresTable(scenario.Postgres);
        var held = await table.ReadAsync(keys, Token);
        await scenario.Postgres.SetAsync(keys[0], MigrationScenario.Session(1000), Sliding, Token);
        var landed = await table.WriteAsync([new SessionStore.Migration.Internal.SessionCopy(keys[0], new SessionStore.Internal.StoredEntry(MigrationScenario.Session(0), held[0]!.Expiry), SessionStore.Internal.WriteCondition.WhenUnchanged(held[0]!.Value))]);

        Assert.Empty(landed);
        Assert.Equal(MigrationScenario.Session(1000), await scenario.Postgres.GetAsync(keys[0], Token));
    }

    [Fact]
    public async Task An_idle_session_is_copied_into_Redis_with_the_time_it_has_left_and_is_not_copied_again()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var (key, i) in keys.Select((k, i) => (k, i)))
        {
            await scenario.Postgres.SetAsync(key, MigrationScenario.Session(i), Sliding, Token);
        }

        // Idle for 15 of their 20 minutes. Given a fresh window, a copy outlived its source by 15 minutes; once
        // PostgreSQL expired the session, a rollback to Redis as the primary signed its user in again.
        await scenario.ScalarAsync("UPDATE {table} SET expire = now() + interval '5 minutes'");
        var options = scenario.Options("DualWritePostgresPrimary");

        var first = await new SessionStoreSync(options).RunAsync(new BackfillOptions(), cancellationToken: Token);
        var verdict = await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { Full = true }, Token);
        var second = await new SessionStoreSync(options).RunAsync(new BackfillOptions(), cancellationToken: Token);

        Assert.Equal(5, first.Copied);
        Assert.InRange((await scenario.Redis.KeyTimeToLiveAsync(scenario.Prefix + keys[0]))!.Value, TimeSpan.FromMinutes(4.9), TimeSpan.FromMinutes(5));
        Assert.True(verdict.IsReadyForNextPhase);
        Assert.Equal((0, 0, 5), (second.Copied, second.Replaced, second.AlreadyPresent));

        // A touch slides the copy a whole window again, as it does the source.
        await scenario.RedisCache.RefreshAsync(keys[0], Token);
        Assert.InRange((await scenario.Redis.KeyTimeToLiveAsync(scenario.Prefix + keys[0]))!.Value, TimeSpan.FromMinutes(19.9), TimeSpan.FromMinutes(20));
    }

    [Fact]
    public async Task A_write_the_application_makes_after_a_copy_landed_keeps_its_own_lifetime_in_Redis()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        var options = scenario.Options("DualWritePostgresPrimary");
        var key = Guid.NewGuid().ToString();
        var redisSource = await SessionStore.Migration.Internal.RedisSource.ConnectAsync(options.Redis, Token);
        await using var _ = redisSource;
        using var redisCache = new SessionStore.Redis.RedisSessionCache(options.Redis);
        var target = new SessionStore.Migration.Internal.RedisTarget(redisCache, redisSource);
        var idle = new SessionStore.Internal.ExpiryState(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(20), null);
        var copy = new SessionStore.Migration.Internal.SessionCopy(key, new SessionStore.Internal.StoredEntry(MigrationScenario.Session(0), idle), SessionStore.Internal.WriteCondition.WhenAbsent);
        var landed = await target.WriteAsync([copy]);

        // Rewritten by the application between the copy and its cut: the new write's whole window stands.
        await redisCache.SetAsync(key, MigrationScenario.Session(1), Sliding, Token);
        await target.KeepTimeLeftAsync(landed);

        Assert.Single(landed);
        Assert.InRange((await scenario.Redis.KeyTimeToLiveAsync(scenario.Prefix + key))!.Value, TimeSpan.FromMinutes(19.9), TimeSpan.FromMinutes(20));
    }

    [Fact]
    public async Task An_interrupted_sync_from_PostgreSQL_resumes_and_its_checkpoint_holds_no_session_id()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var keys = Enumerable.Range(0, 400).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var (key, i) in keys.Select((k, i) => (k, i)))
        {
            await scenario.Postgres.SetAsync(key, MigrationScenario.Session(i), Sliding, Token);
        }

        var checkpoint = Path.Combine(Path.GetTempPath(), $"sync-{Guid.NewGuid():N}.json");
        var options = new BackfillOptions { CheckpointPath = checkpoint, BatchSize = 100 };
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(Token);
        string? saved = null;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new SessionStoreSync(scenario.Options("DualWritePostgresPrimary")).RunAsync(
            options,
            new SynchronousProgress<BackfillProgress>(p =>
            {
                if (p.Scanned >= 200)
                {
                    saved = File.ReadAllText(checkpoint);
                    interrupt.Cancel();
                }
            }),
            interrupt.Token));
        var resumed = await new SessionStoreSync(scenario.Options("DualWritePostgresPrimary")).RunAsync(options, cancellationToken: Token);

        Assert.NotNull(saved);
        Assert.DoesNotContain(keys, key => saved!.Contains(key, StringComparison.Ordinal));
        Assert.True(resumed.Resumed);
        Assert.Equal(400, resumed.Copied);
        Assert.Equal(keys.ToHashSet(), await scenario.RedisKeysAsync());
    }

    [Theory]
    [InlineData("RedisOnly")]
    [InlineData("PostgresOnly")]
    public async Task Sync_outside_a_dual_phase_is_refused(string phase)
    {
        using var scenario = new MigrationScenario(postgres, redis);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new SessionStoreSync(scenario.Options(phase)).RunAsync(new BackfillOptions(), cancellationToken: Token));

        Assert.Contains("has no secondary", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The application's connection fails fast while it reconnects to the restarted server; the logouts this test
    /// makes must reach Redis (it is sync's resurrection check under test, not the reconnect), so wait for it.
    /// </summary>
    private static async Task WaitUntilTheAppReachesRedisAsync(IDistributedCache app, string configuration)
    {
        var probe = $"probe-{Guid.NewGuid()}";
        await using var connection = await ConnectionMultiplexer.ConnectAsync(configuration);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await connection.GetDatabase().KeyExistsAsync("app:" + probe))
        {
            Assert.True(DateTime.UtcNow < deadline, "the application did not reconnect to the restarted Redis within 30 s");
            await Task.Delay(100, Token);
            await app.SetAsync(probe, MigrationScenario.Session(0, "probe"), Sliding, Token);
        }

        await app.RemoveAsync(probe, Token);
    }

    private static async Task<HashSet<string>> RedisKeysAsync(string configuration, string prefix)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(configuration);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in connection.GetServers()[0].KeysAsync(pattern: prefix + "*", pageSize: 1000))
        {
            var name = ((string)key!)[prefix.Length..];
            if (!name.StartsWith("sessionstore:user:", StringComparison.Ordinal))
            {
                keys.Add(name);
            }
        }

        return keys;
    }
}
