using System.Diagnostics;
using SessionStore.Internal;
using SessionStore.Migration;
using SessionStore.Tests.Migration;
using StackExchange.Redis;

namespace SessionStore.Tests.Faults;

/// <summary>
/// verify with PostgreSQL hung while many pages' differences wait to be confirmed: each page's re-read waited out a
/// timeout of its own, four at a time, so 20 pages of differences ended the run some 5 timeouts after the hang.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungVerifyTests(FaultServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_hang_while_differences_wait_to_be_confirmed_ends_the_run_within_one_timeout_of_the_settle_time()
    {
        var table = $"hung_verify_{Guid.NewGuid():N}";
        var prefix = $"hung-verify-{Guid.NewGuid():N}:";
        var options = new SessionStoreOptions { Phase = SessionStorePhase.DualWriteRedisPrimary, SecondaryTimeout = Settle };
        options.Postgres.ConnectionString = servers.PostgresConnectionString;
        options.Postgres.TableName = table;
        options.Postgres.OperationTimeout = Timeout;
        options.Redis.Configuration = servers.RedisConfiguration;
        options.Redis.InstanceName = prefix;
        options.Redis.OperationTimeout = Timeout;
        await new SessionStore.Postgres.PostgresSchemaMigrator(Npgsql.NpgsqlDataSource.Create(servers.PostgresConnectionString), "public", table).MigrateAsync(Token);

        // 10,000 sessions in Redis, none in PostgreSQL: each of the 20 pages has differences to confirm.
        using (var redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration))
        {
            var database = redis.GetDatabase();
            var batch = database.CreateBatch();
            var writes = Enumerable.Range(0, 10_000).Select(i => batch.HashSetAsync(
                prefix + Guid.NewGuid(), [new("absexp", -1), new("sldexp", TimeSpan.FromMinutes(20).Ticks), new("data", MigrationScenario.Session(i))])).ToList();
            batch.Execute();
            await Task.WhenAll(writes);
        }

        var run = new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { Full = true }, Token);
        await Task.Delay(Settle / 2, Token); // the comparison's reads are done; the confirmations wait out the settle time
        await using var freezer = await servers.PostgresFreezerAsync();
        await freezer.FreezeAsync();
        var watch = Stopwatch.StartNew();
        var error = await Record.ExceptionAsync(() => run);
        var elapsed = watch.Elapsed;
        await freezer.ThawAsync();

        output.WriteLine($"verify --full, PostgreSQL hung {Settle / 2} into the run: {error?.GetType().Name} {elapsed.TotalMilliseconds:0} ms after the hang: {error?.Message}");
        var timeout = Assert.IsType<SessionStoreTimeoutException>(error);
        Assert.Equal("postgresql", timeout.Store);
        Assert.InRange(elapsed, TimeSpan.Zero, Settle / 2 + Timeout + HungServerTiming.Slack);
    }
}
