using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using SessionStore.DualWrite;
using SessionStore.Postgres;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Limits;

/// <summary>
/// One key rule everywhere (docs/security.md): every bad key is refused with the same exception by every store and
/// in every dual-write phase, before any I/O — the stores here point where nothing listens, so an argument exception
/// rather than a connection error proves nothing was sent — and the message never echoes the key.
/// </summary>
public sealed class HostileKeyTests(PostgresServer postgres, RedisServer redis)
{
    public static readonly string[] Stores = ["postgresql", "redis", "RedisOnly", "DualWriteRedisPrimary", "DualWritePostgresPrimary", "PostgresOnly"];

    // name, key, exception every store throws
    public static readonly (string Name, string Key, Type Error)[] BadKeys =
    [
        ("empty", "", typeof(ArgumentException)),
        ("lone high surrogate then x (U+D800)", "\uD800x", typeof(ArgumentException)),
        ("lone high surrogate then x (U+D801)", "\uD801x", typeof(ArgumentException)),
        ("lone low surrogate", "\uDC00", typeof(ArgumentException)),
        ("surrogates in reverse order", "\uDC00\uD800", typeof(ArgumentException)),
        ("high surrogate at the end", "session-\uD83D", typeof(ArgumentException)),
        ("low surrogate after a complete pair", "\uD83D\uDE00\uDE00", typeof(ArgumentException)),
        ("NUL inside", "a\0b", typeof(ArgumentException)),
        ("NUL alone", "\0", typeof(ArgumentException)),
        ("the per-user index's prefix", "sessionstore:user:alice", typeof(ArgumentException)), // took alice's index in Redis
        ("256 characters", new string('k', 256), typeof(ArgumentOutOfRangeException)),
        ("128 emoji, 256 UTF-16 units", string.Concat(Enumerable.Repeat("😀", 128)), typeof(ArgumentOutOfRangeException)),
        ("100,000 characters", new string('k', 100_000), typeof(ArgumentOutOfRangeException)),
    ];

    public static TheoryData<string, string> StoreAndKey()
    {
        var data = new TheoryData<string, string>();
        foreach (var store in Stores)
        {
            foreach (var (name, _, _) in BadKeys)
            {
                data.Add(store, name);
            }
        }

        return data;
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly DistributedCacheEntryOptions Lifetime = new() { SlidingExpiration = TimeSpan.FromMinutes(5) };

    [Theory]
    [MemberData(nameof(StoreAndKey))]
    public async Task A_bad_key_is_refused_by_every_operation_of_every_store_and_phase_before_any_io(string store, string keyName)
    {
        var (_, key, error) = BadKeys.Single(k => k.Name == keyName);
        await using var cache = Unreachable(store);

        foreach (var (operation, call) in Operations(cache.Cache, key))
        {
            var thrown = await Record.ExceptionAsync(call);
            Assert.True(thrown?.GetType() == error, $"{store} {operation}: expected {error.Name}, got {thrown?.GetType().Name ?? "no exception"}: {thrown?.Message}");
            Assert.Equal("key", ((ArgumentException)thrown!).ParamName);
            if (key.Length > 1)
            {
                Assert.DoesNotContain(key, thrown.Message, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(StoresData))]
    public async Task A_null_key_is_refused_with_ArgumentNullException(string store)
    {
        await using var cache = Unreachable(store);
        foreach (var (operation, call) in Operations(cache.Cache, null!))
        {
            var thrown = await Record.ExceptionAsync(call);
            Assert.True(thrown is ArgumentNullException, $"{store} {operation}: {thrown?.GetType().Name ?? "no exception"}");
        }
    }

    public static TheoryData<string> StoresData() => [.. Stores];

    [Theory]
    [MemberData(nameof(StoresData))]
    public async Task A_user_id_with_an_unpaired_surrogate_is_refused_by_every_store_and_phase_before_any_io(string store)
    {
        // Encoded as U+FFFD it named another user: Redis dropped that user's sessions from its index, PostgreSQL threw
        // EncoderFallbackException after Redis had done so. The message names the problem, not the id (an e-mail).
        await using var cache = Unreachable(store);
        foreach (var userId in new[] { "ada@example.com\uD800", "\uDC00ada@example.com", "ada\uDC00\uD800@example.com" })
        {
            var thrown = await Record.ExceptionAsync(() => ((IUserSessionRevoker)cache.Cache).RevokeUserSessionsAsync(userId, Token));
            Assert.True(thrown?.GetType() == typeof(ArgumentException), $"{store}: expected ArgumentException, got {thrown?.GetType().Name ?? "no exception"}: {thrown?.Message}");
            Assert.Equal("userId", ((ArgumentException)thrown!).ParamName);
            Assert.Contains("unpaired surrogate", thrown.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("ada", thrown.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Keys_that_differ_only_in_a_lone_surrogate_are_refused_rather_than_merged_on_the_real_stores()
    {
        using var pair = new StorePair(postgres, redis);
        foreach (var cache in new IDistributedCache[] { pair.Postgres, pair.Redis })
        {
            await cache.SetAsync("x", [0], Lifetime, Token);
            await Assert.ThrowsAsync<ArgumentException>(() => cache.SetAsync("\uD800x", [1], Lifetime, Token));
            await Assert.ThrowsAsync<ArgumentException>(() => cache.SetAsync("\uD801x", [2], Lifetime, Token));
        }

        var keys = await redis.Connection.GetDatabase().ExecuteAsync("KEYS", pair.Prefix + "*");
        Assert.Equal([pair.Prefix + "x"], ((StackExchange.Redis.RedisResult[])keys!).Select(k => (string?)k));
        Assert.Equal(1L, await pair.Table.ScalarAsync<long>("SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task Valid_keys_that_look_alike_stay_distinct_entries_on_both_stores()
    {
        string[] keys =
        [
            "\uD83D\uDE00", "\uD83D\uDE01",         // two emoji sharing a high surrogate
            "é", "e\u0301",                          // composed and decomposed: different keys, as in every store
            "k", "K", "k\u200B", " k", "k ",          // case, zero-width space, spaces
            "\uFFFD", "\uFFFDx",                      // what a lone surrogate would have become
            new string('k', 255),                      // the longest key
            string.Concat(Enumerable.Repeat("😀", 127)) + "k", // 255 UTF-16 units, 128 characters
            "'; DROP TABLE sessions; --", "*", "?", "[a]", "{x}", "\\", "\"",
        ];
        using var pair = new StorePair(postgres, redis);
        foreach (var cache in new IDistributedCache[] { pair.Postgres, pair.Redis })
        {
            for (var i = 0; i < keys.Length; i++)
            {
                await cache.SetAsync(keys[i], [(byte)i], Lifetime, Token);
            }

            for (var i = 0; i < keys.Length; i++)
            {
                Assert.Equal(new[] { (byte)i }, await cache.GetAsync(keys[i], Token));
            }
        }
    }

    private static IEnumerable<(string Name, Func<Task> Call)> Operations(IBufferDistributedCache cache, string key) =>
    [
        ("Get", () => Task.FromResult(cache.Get(key))),
        ("GetAsync", () => cache.GetAsync(key, Token)),
        ("TryGet", () => Task.FromResult(cache.TryGet(key, new ArrayBufferWriter<byte>()))),
        ("TryGetAsync", () => cache.TryGetAsync(key, new ArrayBufferWriter<byte>(), Token).AsTask()),
        ("Set", () => Task.Run(() => cache.Set(key, [1], Lifetime), Token)),
        ("SetAsync", () => cache.SetAsync(key, [1], Lifetime, Token)),
        ("SetAsync(sequence)", () => cache.SetAsync(key, new ReadOnlySequence<byte>([1]), Lifetime, Token).AsTask()),
        ("Refresh", () => Task.Run(() => cache.Refresh(key), Token)),
        ("RefreshAsync", () => cache.RefreshAsync(key, Token)),
        ("Remove", () => Task.Run(() => cache.Remove(key), Token)),
        ("RemoveAsync", () => cache.RemoveAsync(key, Token)),
    ];

    /// <summary>A cache of the named store or phase whose servers cannot be reached.</summary>
    private static UnreachableCache Unreachable(string store)
    {
        const string NoPostgres = "Host=127.0.0.1;Port=1;Timeout=1";
        const string NoRedis = "127.0.0.1:1,abortConnect=false,connectTimeout=200";
        switch (store)
        {
            case "postgresql":
                return new UnreachableCache(new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = NoPostgres }), null);
            case "redis":
                return new UnreachableCache(new RedisSessionCache(new RedisSessionCacheOptions { Configuration = NoRedis }), null);
            default:
                var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["SessionStore:Phase"] = store,
                    ["SessionStore:Postgres:ConnectionString"] = NoPostgres,
                    ["SessionStore:Redis:Configuration"] = NoRedis,
                    ["SessionStore:ComparisonSampleRate"] = "0",
                }).Build();
                var services = new ServiceCollection().AddSingleton(NullLoggerFactory.Instance).AddLogging().AddMetrics()
                    .AddDualWriteSessionStore(configuration.GetSection("SessionStore")).BuildServiceProvider();
                return new UnreachableCache(services.GetRequiredService<DualWriteCache>(), services);
        }
    }

    private sealed class UnreachableCache(IBufferDistributedCache cache, ServiceProvider? services) : IAsyncDisposable
    {
        public IBufferDistributedCache Cache => cache;

        public async ValueTask DisposeAsync()
        {
            if (services is not null)
            {
                await services.DisposeAsync();
            }
            else
            {
                (cache as IDisposable)?.Dispose();
            }
        }
    }
}
