using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>
/// A write whose caller has stopped waiting (its operation timeout passed, or its token was cancelled) before the
/// write could be sent is never sent: by then the caller may have written the session again, and a late write would
/// land over it. The wait here is for a pooled connection, held by a statement that outlasts its caller, as a hung
/// server or an exhausted pool holds them.
/// </summary>
public sealed class UnsentWriteTests(PostgresServer server)
{
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LongerThanTheSlowWrite = TimeSpan.FromSeconds(30);
    private static readonly DistributedCacheEntryOptions Sliding = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_write_alone_that_waited_for_a_connection_past_its_callers_timeout_is_not_sent()
    {
        using var table = await HoldTheOnlyConnectionAsync(TimeProvider.System, OperationTimeout);

        var late = table.Cache.SetAsync("late", [2], Sliding, Token);

        await Assert.ThrowsAsync<SessionStoreTimeoutException>(() => late);
        await AssertNeverSentAsync(table, "late");
    }

    [Fact]
    public async Task A_write_alone_whose_caller_cancelled_while_it_waited_for_a_connection_is_not_sent()
    {
        using var table = await HoldTheOnlyConnectionAsync(TimeProvider.System, LongerThanTheSlowWrite);
        using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(Token);

        var late = table.Cache.SetAsync("late", [2], Sliding, cancelled.Token);
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => late);
        await AssertNeverSentAsync(table, "late");
    }

    [Fact]
    public async Task Writes_of_a_batch_that_waited_for_a_connection_past_their_callers_timeout_are_not_sent()
    {
        // A clock that moves only when told: the writes queue behind the write under way, and go as a batch when
        // it has stalled, and their callers count as gone only once the clock has passed their timeout.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var table = await HoldTheOnlyConnectionAsync(time, OperationTimeout);

        var late = new[] { "late-1", "late-2" }.Select(key => table.Cache.SetAsync(key, [2], Sliding, Token)).ToArray();
        time.Advance(TimeSpan.FromMilliseconds(2));

        // The batch has taken the writes (the timer that starts it ran inside Advance) and waits for the connection;
        // their callers stop waiting meanwhile, on the cache's clock and on the real one.
        time.Advance(OperationTimeout);
        foreach (var write in late)
        {
            await Assert.ThrowsAsync<SessionStoreTimeoutException>(() => write);
        }

        await AssertNeverSentAsync(table, "late-1", "late-2");
    }

    [Fact]
    public async Task A_write_whose_caller_cancelled_while_its_batch_waited_for_a_connection_is_left_out_and_the_others_land()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var table = await HoldTheOnlyConnectionAsync(time, LongerThanTheSlowWrite);
        using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(Token);

        var waiting = table.Cache.SetAsync("waiting", [2], Sliding, Token);
        var gone = table.Cache.SetAsync("gone", [2], Sliding, cancelled.Token);
        time.Advance(TimeSpan.FromMilliseconds(2));
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone);
        await waiting;
        await AssertNeverSentAsync(table, "gone");
    }

    /// <summary>
    /// A table whose cache has one pooled connection for its statements, held by a write of the key <c>slow</c> for
    /// two seconds (a trigger sleeps): four times <see cref="OperationTimeout"/>.
    /// </summary>
    private async Task<PostgresTestTable> HoldTheOnlyConnectionAsync(TimeProvider time, TimeSpan operationTimeout)
    {
        var table = new PostgresTestTable(server, o =>
        {
            o.ConnectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString) { MaxPoolSize = 1, Timeout = 60 }.ConnectionString;
            o.OperationTimeout = operationTimeout;
        }, time: time);
        await WriteUntilSentAsync(table, "warm-up");
        await table.CreateTriggerAsync("IF NEW.sid = 'slow' THEN PERFORM pg_sleep(2); END IF;");

        _ = table.Cache.SetAsync("slow", [1], Sliding, Token).ContinueWith(_ => { }, TaskScheduler.Default);
        while (await table.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%' || $1 || '%'", table.Options.TableName) == 0)
        {
            await Task.Delay(10, Token);
        }

        return table;
    }

    /// <summary>
    /// Once the slow write has ended and freed the connection, a write of another key through the same single
    /// connection: it runs after anything the writes under test could still send, which must be nothing.
    /// </summary>
    private static async Task AssertNeverSentAsync(PostgresTestTable table, params string[] keys)
    {
        while (await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid = 'slow'") == 0)
        {
            await Task.Delay(10, Token);
        }

        await WriteUntilSentAsync(table, "after");
        Assert.Equal(0, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid = ANY($1)", (object)keys));
    }

    /// <summary>
    /// A write the test needs to succeed (the warm-up that opens the connection, the write that proves the order),
    /// tried again if it times out: a loaded machine can take longer than the short <see cref="OperationTimeout"/> to
    /// open or hand over the connection, and only a write that was sent does its job.
    /// </summary>
    private static async Task WriteUntilSentAsync(PostgresTestTable table, string key)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await table.Cache.SetAsync(key, [3], Sliding, Token);
                return;
            }
            catch (SessionStoreTimeoutException) when (attempt < 20)
            {
            }
        }
    }
}
