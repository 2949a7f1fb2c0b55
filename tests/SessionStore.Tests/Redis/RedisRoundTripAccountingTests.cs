using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Tests.Redis;

/// <summary>
/// Counts the commands a read-only session request (Get then RefreshAsync, as DistributedSession issues them)
/// sends, with StackExchange.Redis's profiler, for our provider and for Microsoft's RedisCache side by side.
/// Every command here is awaited before the next is sent, so each is one round trip.
/// </summary>
public sealed class RedisRoundTripAccountingTests(RedisServer server, ITestOutputHelper output)
{
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_read_only_session_request_is_one_round_trip_against_four_for_RedisCache()
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(server.Configuration);
        ProfilingSession? session = null;
        connection.RegisterProfiler(() => session);
        using var ours = new RedisSessionCache(new RedisSessionCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(connection) });
        using var theirs = new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(connection),
        }));

        async Task<string[]> CommandsOfAsync(IDistributedCache cache)
        {
            var key = Guid.NewGuid().ToString();
            await cache.SetAsync(key, new byte[2000], IdleTimeout, Token);
            await cache.GetAsync(key, Token); // the script is loaded once per connection; measure steady state
            session = new ProfilingSession();
            await cache.GetAsync(key, Token);
            await cache.RefreshAsync(key, Token);
            var commands = session.FinishProfiling().Select(c => c.Command).ToArray();
            session = null;
            return commands;
        }

        var ourCommands = await CommandsOfAsync(ours);
        var theirCommands = await CommandsOfAsync(theirs);

        output.WriteLine($"Read-only session request: SessionStore {ourCommands.Length} round trip(s) ({string.Join(", ", ourCommands)}); " +
            $"Microsoft RedisCache {theirCommands.Length} ({string.Join(", ", theirCommands)}).");
        Assert.Equal(["EVALSHA"], ourCommands);
        Assert.Equal(4, theirCommands.Length);
    }
}
