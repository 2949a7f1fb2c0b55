using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using Npgsql;
using SessionStore.Postgres;
using SessionStore.Redis;
using SessionStore.Tests.DualWrite;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Diagnostics;

/// <summary>
/// The spans of <see cref="SessionStoreTracing.ActivitySourceName"/> on the real servers: a span per dual-write
/// operation with the phase, a client span per store call following the database conventions, parent of Npgsql's
/// own span, failures and timeouts marked, and never a key in a tag.
/// </summary>
[Collection(nameof(TracingCollection))]
public sealed class SessionStoreTracingTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static DistributedCacheEntryOptions Lifetime => new() { SlidingExpiration = TimeSpan.FromMinutes(5) };

    [Fact]
    public async Task A_get_in_a_dual_phase_is_a_phase_span_with_a_client_span_for_each_store()
    {
        await using var harness = new DualWriteHarness("DualWriteRedisPrimary", postgres.ConnectionString, redis.Configuration);
        await harness.Cache.SetAsync("warm-up", [1], Lifetime, Token);
        var key = SecretKey();
        using var trace = new TraceRecorder(SessionStoreTracing.ActivitySourceName);

        Assert.Null(await harness.Cache.GetAsync(key, Token));

        var operation = Assert.Single(trace.FromSource(SessionStoreTracing.ActivitySourceName), a => a.DisplayName == "SessionStore get");
        Assert.Equal(ActivityKind.Internal, operation.Kind);
        Assert.Equal("DualWriteRedisPrimary", operation.GetTagItem(SessionStoreTracing.PhaseAttribute));
        Assert.Equal("get", operation.GetTagItem(SessionStoreTracing.OperationAttribute));
        var calls = trace.ChildrenOf(operation);
        Assert.Equal(["postgresql", "redis"], calls.Select(c => (string)c.GetTagItem("db.system.name")!).Order());
        Assert.All(calls, c =>
        {
            Assert.Equal(ActivityKind.Client, c.Kind);
            Assert.Equal("get", c.GetTagItem("db.operation.name"));
            Assert.Equal(ActivityStatusCode.Unset, c.Status);
        });
        var postgresCall = calls.Single(c => (string?)c.GetTagItem("db.system.name") == "postgresql");
        Assert.Equal($"public.{TableOf(harness)}", postgresCall.GetTagItem("db.collection.name"));
        Assert.Equal($"get public.{TableOf(harness)}", postgresCall.DisplayName);
        var redisCall = calls.Single(c => (string?)c.GetTagItem("db.system.name") == "redis");
        Assert.NotNull(redisCall.GetTagItem("server.address"));
        Assert.IsType<int>(redisCall.GetTagItem("server.port"));
        AssertNoKeyIn(trace, key);
    }

    [Fact]
    public async Task A_set_writes_both_stores_under_its_span_and_a_read_repair_is_an_event()
    {
        await using var harness = new DualWriteHarness("DualWritePostgresPrimary", postgres.ConnectionString, redis.Configuration);
        var key = SecretKey();
        await harness.Redis.SetAsync(key, Encoding.UTF8.GetBytes("only in redis"), Lifetime, Token);
        using var trace = new TraceRecorder(SessionStoreTracing.ActivitySourceName);

        harness.Cache.Set(SecretKey(), [1, 2, 3], Lifetime);
        Assert.NotNull(await harness.Cache.GetAsync(key, Token));

        var set = Assert.Single(trace.FromSource(SessionStoreTracing.ActivitySourceName), a => a.DisplayName == "SessionStore set");
        Assert.Equal("DualWritePostgresPrimary", set.GetTagItem(SessionStoreTracing.PhaseAttribute));
        Assert.Equal(["postgresql", "redis"], trace.ChildrenOf(set).Select(c => (string)c.GetTagItem("db.system.name")!).Order());
        Assert.All(trace.ChildrenOf(set), c => Assert.Equal("set", c.GetTagItem("db.operation.name")));

        var get = Assert.Single(trace.FromSource(SessionStoreTracing.ActivitySourceName), a => a.DisplayName == "SessionStore get");
        Assert.Equal(
            ["postgresql get", "postgresql set", "redis get"],
            trace.ChildrenOf(get).Select(c => $"{c.GetTagItem("db.system.name")} {c.GetTagItem("db.operation.name")}").Order());
        var repair = Assert.Single(get.Events, e => e.Name == "sessionstore.read_repair");
        Assert.Equal("postgresql", repair.Tags.Single(t => t.Key == "db.system.name").Value);
        AssertNoKeyIn(trace, key);
    }

    [Fact]
    public async Task Npgsqls_own_span_is_a_child_of_the_PostgreSQL_store_span_on_async_and_sync_paths()
    {
        var table = PostgresServer.UniqueTableName("trace");
        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = table, CreateTableIfMissing = true });
        await cache.SetAsync("warm-up", [1], Lifetime, Token);
        var key = SecretKey();
        using var trace = new TraceRecorder(SessionStoreTracing.ActivitySourceName, "Npgsql");

        await cache.SetAsync(key, [1, 2, 3], Lifetime, Token);
        Assert.NotNull(cache.Get(key));

        var calls = trace.FromSource(SessionStoreTracing.ActivitySourceName);
        Assert.Equal(["get", "set"], calls.Select(c => (string)c.GetTagItem("db.operation.name")!).Order());
        Assert.All(calls, call =>
        {
            Assert.Equal(ActivityKind.Client, call.Kind);
            Assert.Equal("postgresql", call.GetTagItem("db.system.name"));
            Assert.Equal($"public.{table}", call.GetTagItem("db.collection.name"));
            Assert.Contains(trace.ChildrenOf(call), child => child.Source.Name == "Npgsql");
        });
        AssertNoKeyIn(trace, key);
    }

    [Fact]
    public async Task A_standalone_Redis_cache_emits_its_store_spans()
    {
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = redis.Configuration, InstanceName = $"trace-{Guid.NewGuid():N}:" });
        var key = SecretKey();
        using var trace = new TraceRecorder(SessionStoreTracing.ActivitySourceName);

        await cache.SetAsync(key, [1], Lifetime, Token);
        cache.Refresh(key);
        await cache.RemoveAsync(key, Token);

        Assert.Equal(
            ["refresh", "remove", "set"],
            trace.FromSource(SessionStoreTracing.ActivitySourceName).Select(c => (string)c.GetTagItem("db.operation.name")!).Order());
        AssertNoKeyIn(trace, key);
    }

    [Fact]
    public async Task A_store_call_that_times_out_has_Error_status_and_error_type_on_its_span_and_the_operations_span()
    {
        await using var harness = new DualWriteHarness("DualWritePostgresPrimary", postgres.ConnectionString, redis.Configuration, s =>
            s["SessionStore:Postgres:OperationTimeout"] = "00:00:00.3");
        await harness.Cache.SetAsync("warm-up", [1], Lifetime, Token);
        var key = SecretKey();
        await using var connection = await postgres.DataSource.OpenConnectionAsync(Token);
        await using var transaction = await connection.BeginTransactionAsync(Token);
        await using (var command = new NpgsqlCommand($"LOCK TABLE public.{TableOf(harness)} IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync(Token);
        }

        using var trace = new TraceRecorder(SessionStoreTracing.ActivitySourceName);
        await Assert.ThrowsAnyAsync<TimeoutException>(() => harness.Cache.GetAsync(key, Token));

        // The dual-write cache and the store bound the call by the same timeout: whichever fires first, the store's
        // span ends with the store's own timeout, and the lock is held until it has.
        await DualWriteHarness.EventuallyAsync(
            () => Task.FromResult(trace.FromSource(SessionStoreTracing.ActivitySourceName).Any(a => a.Kind == ActivityKind.Client)), "the store span ended");
        await transaction.RollbackAsync(Token);

        var operation = Assert.Single(trace.FromSource(SessionStoreTracing.ActivitySourceName), a => a.DisplayName == "SessionStore get");
        var call = Assert.Single(trace.ChildrenOf(operation));
        Assert.Equal(ActivityStatusCode.Error, call.Status);
        Assert.Equal(typeof(SessionStoreTimeoutException).FullName, call.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, operation.Status);
        Assert.Contains(operation.GetTagItem("error.type"), new object[] { typeof(SessionStoreTimeoutException).FullName!, typeof(TimeoutException).FullName! });
        AssertNoKeyIn(trace, key);
    }

    [Fact]
    public async Task A_failed_store_call_has_Error_status_and_the_exceptions_type()
    {
        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = PostgresServer.UniqueTableName("absent") });
        var key = SecretKey();
        using var trace = new TraceRecorder(SessionStoreTracing.ActivitySourceName);

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync(key, Token));
        Assert.Throws<InvalidOperationException>(() => cache.Get(key));

        var calls = trace.FromSource(SessionStoreTracing.ActivitySourceName);
        Assert.Equal(2, calls.Count);
        Assert.All(calls, call =>
        {
            Assert.Equal(ActivityStatusCode.Error, call.Status);
            Assert.Equal(typeof(InvalidOperationException).FullName, call.GetTagItem("error.type"));
        });
        AssertNoKeyIn(trace, key);
    }

    /// <summary>A key that would stand out in any tag, as a session id would.</summary>
    private static string SecretKey() => $"secret-{Guid.NewGuid():N}";

    private static string TableOf(DualWriteHarness harness) =>
        harness.Configuration["SessionStore:Postgres:TableName"]!;

    private static void AssertNoKeyIn(TraceRecorder trace, string key)
    {
        Assert.NotEmpty(trace.Activities);
        Assert.All(trace.AllTagValues(), value => Assert.DoesNotContain(key, value, StringComparison.Ordinal));
        Assert.All(trace.AllTagValues(), value => Assert.DoesNotContain(key[7..15], value, StringComparison.Ordinal));
    }
}
