using SessionStore.Tests.DualWrite;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Faults;

/// <summary>
/// 32 writers on one session in a dual phase: the primary orders their writes and stamps each with a version; the
/// secondary takes a write only over an older version, so it ends holding the primary's last write, whatever
/// order the secondary writes arrive in.
/// </summary>
public sealed class ConcurrentDualWriteTests(PostgresServer postgres, RedisServer redis, ITestOutputHelper output)
{
    private const int Writers = 32;
    private const int Rounds = 100;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("dual-redis-primary")]
    [InlineData("dual-pg-primary")]
    public async Task Concurrent_writers_of_one_key_leave_both_stores_with_the_same_value(string phase)
    {
        // Ordering is under test, not timeouts: a generous secondary timeout keeps a loaded machine from failing a
        // secondary write outright, and a first write creates the table and opens the connections.
        await using var harness = new DualWriteHarness(phase, postgres.ConnectionString, redis.Configuration, settings => settings["SessionStore:SecondaryTimeout"] = "00:00:30");
        await harness.Cache.SetAsync("warm-up", [0], DualWriteHarness.IdleTimeout, Token);
        var divergent = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var key = Guid.NewGuid().ToString();
            using var start = new ManualResetEventSlim();
            var writers = Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
            {
                start.Wait(Token);
                await harness.Cache.SetAsync(key, [(byte)round, (byte)writer], DualWriteHarness.IdleTimeout, Token);
            })).ToArray();
            start.Set();
            await Task.WhenAll(writers);

            var inPostgres = await harness.Postgres.GetAsync(key, Token);
            var inRedis = await harness.Redis.GetAsync(key, Token);
            Assert.NotNull(inPostgres);
            Assert.NotNull(inRedis);
            if (!inPostgres.AsSpan().SequenceEqual(inRedis))
            {
                divergent++;
            }
        }

        output.WriteLine($"{phase}: {Writers} writers x {Rounds} rounds on one key: {divergent} divergent key(s).");
        Assert.Equal(0, divergent);
    }
}
