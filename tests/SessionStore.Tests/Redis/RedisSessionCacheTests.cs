using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SessionStore.Redis;
using SessionStore.Tests.Internal;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.Redis;

public sealed class RedisSessionCacheTests(RedisServer server)
{
    private static readonly DistributedCacheEntryOptions IdleTimeout = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private IDatabase Raw => server.Connection.GetDatabase();

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the path for servers that refuse scripts
    public async Task A_session_kept_alive_by_reads_alone_is_still_found_by_log_out_everywhere(bool useScripts)
    {
        // As the session middleware keeps it: one write at sign-in, then read-only requests. The index's TTL followed
        // the writes only, so it expired under a live session, and the revoke found nothing.
        var prefix = $"touched-{Guid.NewGuid():N}:";
        using var cache = Cache(o => { o.InstanceName = prefix; o.UserIdSessionKey = "UserId"; o.UseScripts = useScripts; });
        var key = NewKey();
        await cache.SetAsync(key, Session("ada"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(2) }, Token);

        for (var request = 0; request < 15; request++) // 3 s of reads: past the window the write gave
        {
            await Task.Delay(200, Token);
            Assert.NotNull(await cache.GetAsync(key, Token));
            await cache.RefreshAsync(key, Token);
        }

        Assert.Equal(1, await cache.RevokeUserSessionsAsync("ada", Token));
        Assert.Null(await cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_session_that_never_expires_keeps_its_user_index_when_a_shorter_one_is_written()
    {
        // The set was PERSISTed for it, and the next session's EXPIRE NX then gave the set that session's short TTL.
        var prefix = $"forever-{Guid.NewGuid():N}:";
        using var cache = Cache(o => { o.InstanceName = prefix; o.UserIdSessionKey = "UserId"; });
        var forever = NewKey();
        await cache.SetAsync(forever, Session("ada"), new DistributedCacheEntryOptions(), Token);
        await cache.SetAsync(NewKey(), Session("ada"), new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(1) }, Token);

        await Task.Delay(TimeSpan.FromSeconds(1.5), Token); // the short session is gone

        Assert.Equal(1, await cache.RevokeUserSessionsAsync("ada", Token));
        Assert.Null(await cache.GetAsync(forever, Token));
    }

    [Fact]
    public async Task A_command_the_server_refuses_fails_naming_the_store_and_the_operation()
    {
        // Out of memory under noeviction surfaced as StackExchange.Redis's own exception, naming neither. A Redis of its own:
        // one that refuses writes would fail every other test sharing it.
        await using var ownRedis = await OwnRedis.StartAsync(Token);
        using var connection = await ConnectionMultiplexer.ConnectAsync(ownRedis.Configuration);
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(connection) });
        await OwnRedis.RefuseWritesAsync(ownRedis.Configuration, refuse: true);

        var error = await Assert.ThrowsAsync<RedisSessionCacheException>(() => cache.SetAsync(NewKey(), Session("ada"), IdleTimeout, Token));

        Assert.StartsWith($"Redis set failed on {ownRedis.Configuration}", error.Message, StringComparison.Ordinal);
        Assert.Contains("OOM", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_read_whose_touch_cannot_extend_the_user_index_still_answers_and_says_so(bool useScripts)
    {
        // Out of memory under noeviction Redis refuses SADD, not EXPIRE: the session is extended, its index not. The read
        // failed for it, once per touch of every signed-in user, and counted against a dual-write breaker.
        await using var ownRedis = await OwnRedis.StartAsync(Token);
        using var connection = await ConnectionMultiplexer.ConnectAsync(ownRedis.Configuration);
        var logger = new FakeLogger<RedisSessionCache>();
        using var cache = new RedisSessionCache(
            new RedisSessionCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(connection), UserIdSessionKey = "UserId", UseScripts = useScripts },
            logger,
            TimeProvider.System);
        var key = NewKey();
        var session = Session("ada@example.com");
        await cache.SetAsync(key, session, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(10) }, Token);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token); // a touch is due after a tenth of the window
        await OwnRedis.RefuseWritesAsync(ownRedis.Configuration, refuse: true);

        Assert.Equal(session, await cache.GetAsync(key, Token));

        var warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == SessionStoreEventIds.RedisUserIndexNotExtended);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.DoesNotContain("ada", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blank_user_id_is_no_user_and_a_blank_revoke_is_refused()
    {
        var prefix = $"blank-{Guid.NewGuid():N}:";
        using var cache = Cache(o => { o.InstanceName = prefix; o.UserIdSessionKey = "UserId"; });

        await cache.SetAsync(NewKey(), Session(""), IdleTimeout, Token);
        await cache.SetAsync(NewKey(), Session(" "), IdleTimeout, Token);

        Assert.Empty(Raw.Multiplexer.GetServers()[0].Keys(pattern: prefix + "sessionstore:user:*"));
        await Assert.ThrowsAsync<ArgumentException>(() => cache.RevokeUserSessionsAsync(" ", Token));
    }

    [Fact]
    public async Task A_revoke_of_a_user_id_with_an_unpaired_surrogate_is_refused_and_leaves_the_user_it_encodes_to_alone()
    {
        // "x\uD800" reaches Redis as "x\uFFFD": the revoke read that user's index, saw its sessions as another
        // user's and dropped them from it, so that user's own "log out everywhere" then missed them.
        var prefix = $"surrogate-{Guid.NewGuid():N}:";
        using var cache = Cache(o => { o.InstanceName = prefix; o.UserIdSessionKey = "UserId"; });
        var key = NewKey();
        await cache.SetAsync(key, Session("x\uFFFD"), IdleTimeout, Token);

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => cache.RevokeUserSessionsAsync("x\uD800", Token));

        Assert.Equal("userId", refused.ParamName);
        Assert.True(await Raw.SetContainsAsync(prefix + "sessionstore:user:x\uFFFD", key));
        Assert.Equal(1, await cache.RevokeUserSessionsAsync("x\uFFFD", Token));
        Assert.Null(await cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task Logging_out_a_user_everywhere_deletes_only_that_users_live_sessions()
    {
        var prefix = $"revoke-{Guid.NewGuid():N}:";
        using var cache = Cache(o => { o.InstanceName = prefix; o.UserIdSessionKey = "UserId"; });
        var ada = new[] { NewKey(), NewKey(), NewKey() };
        var bob = NewKey();
        foreach (var key in ada)
        {
            await cache.SetAsync(key, Session("ada"), IdleTimeout, Token);
        }

        await cache.SetAsync(bob, Session("bob"), IdleTimeout, Token);
        await cache.SetAsync(ada[2], Session("bob"), IdleTimeout, Token);   // that browser signed in as bob since
        await cache.RemoveAsync(ada[1], Token);                              // that session ended on its own

        Assert.Equal(1, await cache.RevokeUserSessionsAsync("ada", Token));

        Assert.Null(await cache.GetAsync(ada[0], Token));
        Assert.NotNull(await cache.GetAsync(ada[2], Token));
        Assert.NotNull(await cache.GetAsync(bob, Token));
        // The deleted members stay until the next revoke finds them gone (a write racing the revoke may re-create one).
        Assert.True(await Raw.KeyExistsAsync(prefix + "sessionstore:user:ada"));
        Assert.Equal(0, await cache.RevokeUserSessionsAsync("ada", Token));
        Assert.False(await Raw.KeyExistsAsync(prefix + "sessionstore:user:ada"));
    }

    [Fact]
    public async Task The_user_index_expires_with_the_longest_lived_session_of_the_user()
    {
        var prefix = $"index-{Guid.NewGuid():N}:";
        using var cache = Cache(o => { o.InstanceName = prefix; o.UserIdSessionKey = "UserId"; });

        await cache.SetAsync(NewKey(), Session("ada"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(30) }, Token);
        await cache.SetAsync(NewKey(), Session("ada"), new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(5) }, Token);

        var ttl = await Raw.KeyTimeToLiveAsync(prefix + "sessionstore:user:ada");
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
    }

    [Fact]
    public async Task A_lazy_touch_leaves_a_fresh_ttl_alone_and_extends_a_stale_one()
    {
        using var cache = Cache();
        var key = NewKey();
        await cache.SetAsync(key, [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(100) }, Token);

        await Raw.KeyExpireAsync(key, TimeSpan.FromSeconds(95));
        await cache.GetAsync(key, Token);
        Assert.InRange((await Raw.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 93, 95);

        await Raw.KeyExpireAsync(key, TimeSpan.FromSeconds(85));
        await cache.GetAsync(key, Token);
        Assert.InRange((await Raw.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 99, 100);
    }

    [Fact]
    public async Task A_flushed_script_cache_is_reloaded_transparently()
    {
        using var cache = Cache();
        var key = NewKey();
        await cache.SetAsync(key, [1, 2], IdleTimeout, Token);
        Assert.Equal([1, 2], await cache.GetAsync(key, Token));

        foreach (var endpoint in server.Connection.GetEndPoints())
        {
            await server.Connection.GetServer(endpoint).ScriptFlushAsync();
        }

        Assert.Equal([1, 2], await cache.GetAsync(key, Token));
    }

    [Fact]
    public async Task A_server_that_refuses_scripts_is_detected_once_logged_and_served_without_them()
    {
        var user = "noscript-" + Guid.NewGuid().ToString("N")[..8];
        await Raw.ExecuteAsync("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", "-@scripting");
        var logger = new FakeLogger<RedisSessionCache>();
        var configuration = ConfigurationOptions.Parse(server.Configuration);
        (configuration.User, configuration.Password) = (user, "secret");
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { ConfigurationOptions = configuration }, logger, TimeProvider.System);
        var key = NewKey();

        await cache.SetAsync(key, [7], IdleTimeout, Token);
        Assert.Equal([7], await cache.GetAsync(key, Token));
        Assert.Equal([7], cache.Get(key));
        await cache.RefreshAsync(key, Token);

        var warning = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(SessionStoreEventIds.RedisScriptingUnavailable, warning.Id.Id);
        Assert.Contains("NOPERM", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseScripts_false_never_asks_a_server_that_refuses_scripts_and_true_fails_instead_of_falling_back()
    {
        var user = "noscript-" + Guid.NewGuid().ToString("N")[..8];
        await Raw.ExecuteAsync("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", "-@scripting");
        var configuration = ConfigurationOptions.Parse(server.Configuration);
        (configuration.User, configuration.Password) = (user, "secret");
        var key = NewKey();

        var offLogger = new FakeLogger<RedisSessionCache>();
        using (var off = new RedisSessionCache(new RedisSessionCacheOptions { ConfigurationOptions = configuration, UseScripts = false }, offLogger, TimeProvider.System))
        {
            await off.SetAsync(key, [7], IdleTimeout, Token);
            Assert.Equal([7], await off.GetAsync(key, Token));
            await off.RefreshAsync(key, Token);
        }

        Assert.Empty(offLogger.Collector.GetSnapshot());

        using var required = new RedisSessionCache(new RedisSessionCacheOptions { ConfigurationOptions = configuration, UseScripts = true });
        var error = await Assert.ThrowsAsync<RedisSessionCacheException>(() => required.GetAsync(key, Token));
        Assert.Contains("NOPERM", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_negative_DefaultDatabase_in_ConfigurationOptions_is_invalid_naming_it()
    {
        // Accepted before, the first call failed with an IndexOutOfRangeException naming nothing.
        var configuration = ConfigurationOptions.Parse("127.0.0.1:1");
        configuration.DefaultDatabase = -5;

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new RedisSessionCache(new RedisSessionCacheOptions { ConfigurationOptions = configuration }));

        Assert.Contains("ConfigurationOptions.DefaultDatabase is -5; it must be 0 or more", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_is_an_error_naming_the_endpoint_and_the_operation()
    {
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = "127.0.0.1:1,connectTimeout=500,abortConnect=false" });

        var error = await Assert.ThrowsAsync<RedisSessionCacheException>(() => cache.GetAsync(NewKey(), Token));

        Assert.Contains("127.0.0.1:1", error.Message, StringComparison.Ordinal);
        Assert.Contains("Redis get failed", error.Message, StringComparison.Ordinal);
        var setError = Assert.Throws<RedisSessionCacheException>(() => cache.Set(NewKey(), [1], IdleTimeout));
        Assert.Contains("Redis set failed", setError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_synchronous_api_does_not_deadlock_on_a_single_threaded_synchronization_context()
    {
        using var cache = Cache();
        var key = NewKey();
        var done = new TaskCompletionSource<byte[]?>();
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(new SingleThreadContext());
            cache.Set(key, [3], IdleTimeout);
            cache.Refresh(key);
            done.SetResult(cache.Get(key));
        });
        thread.Start();

        Assert.Equal([3], await done.Task.WaitAsync(TimeSpan.FromSeconds(10), Token));
    }

    [Fact]
    public async Task Refresh_elision_uses_the_clock_it_was_given()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = server.Configuration }, Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisSessionCache>.Instance, time);
        var key = NewKey();
        await cache.SetAsync(key, [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(100) }, Token);
        await cache.GetAsync(key, Token);
        await Raw.KeyExpireAsync(key, TimeSpan.FromSeconds(50));

        await cache.RefreshAsync(key, Token);    // right after the read: answered in-process, the TTL stays
        Assert.InRange((await Raw.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 49, 50);

        await cache.GetAsync(key, Token);        // the read itself sees the stale TTL and touches
        time.Advance(TimeSpan.FromSeconds(30));
        await Raw.KeyExpireAsync(key, TimeSpan.FromSeconds(50));
        await cache.RefreshAsync(key, Token);    // 30 s later a refresh is due again and goes to the server
        Assert.InRange((await Raw.KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 99, 100);
    }

    private RedisSessionCache Cache(Action<RedisSessionCacheOptions>? configure = null)
    {
        var options = new RedisSessionCacheOptions { ConnectionMultiplexerFactory = () => Task.FromResult(server.Connection) };
        configure?.Invoke(options);
        return new RedisSessionCache(options);
    }

    private static string NewKey() => Guid.NewGuid().ToString();

    private static byte[] Session(string userId) =>
        new TestSessionPayload(Guid.NewGuid().ToByteArray(), [new("UserId", System.Text.Encoding.UTF8.GetBytes(userId))]).ToBytes();

    /// <summary>A context like old ASP.NET's or a UI thread's: continuations posted to it never run while it is blocked.</summary>
    private sealed class SingleThreadContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => throw new InvalidOperationException("A continuation was posted to the blocked context.");
    }
}
