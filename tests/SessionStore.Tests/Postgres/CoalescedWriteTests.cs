using CsCheck;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>
/// Concurrent writes go to the server together, their upserts in one batch and one commit (<c>StatementBatcher</c>).
/// Whatever the mix, each write must land as it would alone: its own value under its own key, a condition judged
/// after the writes ahead of it, and a write the server refuses failing alone, not with the writes batched with it.
/// </summary>
public sealed class CoalescedWriteTests(PostgresServer server)
{
    private const int Callers = 24;
    private const int Refused = Callers / 2;
    private static readonly DistributedCacheEntryOptions Sliding = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<PostgresPayloadFormat> Formats() => [PostgresPayloadFormat.Jsonb, PostgresPayloadFormat.Bytea];

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Concurrent_writes_of_any_mix_of_keys_each_land_as_a_write_alone_would(PostgresPayloadFormat format)
    {
        using var table = new PostgresTestTable(server, o => o.PayloadFormat = format);
        var keys = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid().ToString()).ToArray();

        // Writes of keys picked at random (one session written by several requests at once included), from 2 to 32
        // callers at once; each write's value is its own.
        await Gen.Select(Gen.Int[0, keys.Length - 1].Array[1, 120], Gen.Int[2, 32], Gen.Int).SampleAsync(async (writes, callers, sample) =>
        {
            byte[] ValueOf(int i) => System.Text.Encoding.UTF8.GetBytes($"sample {sample} write {i} of {keys[writes[i]]}");
            await Parallel.ForAsync(0, writes.Length, new ParallelOptions { MaxDegreeOfParallelism = callers, CancellationToken = Token }, async (i, token) =>
                await table.Cache.SetAsync(keys[writes[i]], ValueOf(i), Sliding, token));

            foreach (var written in Enumerable.Range(0, writes.Length).GroupBy(i => writes[i]))
            {
                // Concurrent writes of one key: the last to land wins, and it is one of them, whole.
                var stored = await table.Cache.GetAsync(keys[written.Key], Token);
                Assert.Contains(written, i => ValueOf(i).AsSpan().SequenceEqual(stored));
            }
        }, iter: 40, threads: 1); // one sample at a time: samples write the same keys

        var (statements, writeCount, _) = table.Cache.WriteCoalescing;
        Assert.True(statements < writeCount, $"{statements} statements for {writeCount} writes: concurrent writes should have shared statements.");
    }

    [Fact]
    public async Task A_write_the_server_refuses_fails_alone_and_the_writes_batched_with_it_land()
    {
        using var table = StandingClockTable();
        var (keys, writes) = await WriteTogetherWithOneRefusedAsync(table, "RAISE EXCEPTION 'refused by the test trigger';");

        // The refused write went in a batch, which the server rolled back: its other writes went again alone.
        Assert.True(table.Cache.WriteCoalescing.RolledBack > 0, "The refused write should have been in a batch.");
        for (var i = 0; i < keys.Length; i++)
        {
            if (i == Refused)
            {
                var refused = await Assert.ThrowsAnyAsync<Exception>(() => writes[i]);
                Assert.Contains("refused by the test trigger", refused.ToString(), StringComparison.Ordinal);
                Assert.Null(await table.Cache.GetAsync(keys[i], Token));
            }
            else
            {
                await writes[i];
                Assert.Equal(ValueOf(keys[i]), await table.Cache.GetAsync(keys[i], Token));
            }
        }
    }

    [Fact]
    public async Task An_error_every_write_would_meet_alone_fails_the_batch_at_once_without_sending_each_again()
    {
        // A permission error, as a revoked grant would raise for every write: the batch fails as a whole.
        using var table = StandingClockTable();
        var (_, writes) = await WriteTogetherWithOneRefusedAsync(table, "RAISE EXCEPTION 'denied by the test trigger' USING ERRCODE = 'insufficient_privilege';");

        foreach (var write in writes)
        {
            Assert.Contains("denied by the test trigger", (await Assert.ThrowsAnyAsync<Exception>(() => write)).ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(0, table.Cache.WriteCoalescing.RolledBack);
        Assert.Equal(0, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid LIKE 'accepted-%'"));
    }

    [Fact]
    public async Task Concurrent_writes_when_absent_let_exactly_one_land()
    {
        using var table = StandingClockTable();
        ISessionCacheProvider store = table.Cache;
        for (var round = 0; round < 10; round++)
        {
            var key = Guid.NewGuid().ToString();
            var versions = await Task.WhenAll(await BehindAWriteUnderWayAsync(table, () => Enumerable.Range(0, Callers).Select(i =>
                store.SetAsync(key, ValueOf($"{key} {i}"), Sliding, WriteCondition.WhenAbsent, async: true, Token).AsTask()).ToArray()));

            var landed = Assert.Single(versions.Select((version, caller) => (version, caller)), w => w.version is not null);
            Assert.Equal(ValueOf($"{key} {landed.caller}"), await table.Cache.GetAsync(key, Token));
        }

        var (statements, writeCount, _) = table.Cache.WriteCoalescing;
        Assert.True(statements < writeCount, $"{statements} statements for {writeCount} writes: the conditional writes should have shared statements.");
    }

    [Fact]
    public async Task Concurrent_touches_and_deletes_go_together_and_each_takes_effect()
    {
        using var table = StandingClockTable();
        var keys = Enumerable.Range(0, 64).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in keys)
        {
            await table.Cache.SetAsync(key, ValueOf(key), Sliding, Token);
        }

        // Ten minutes behind a 20-minute window: every refresh is a due touch. Every fourth session is removed instead.
        await table.ScalarAsync<int>("UPDATE {table} SET expire = now() + interval '10 minutes'");
        var (statementsBefore, writesBefore, _) = table.Cache.WriteCoalescing;
        await Task.WhenAll(await BehindAWriteUnderWayAsync(table, () =>
            keys.Select((key, i) => i % 4 == 0 ? table.Cache.RemoveAsync(key, Token) : table.Cache.RefreshAsync(key, Token)).ToArray()));

        // Two more writes, each alone: the session written first, then under way.
        var (statements, writeCount, _) = table.Cache.WriteCoalescing;
        Assert.Equal(keys.Length + 2, writeCount - writesBefore);
        Assert.True(statements - statementsBefore < writeCount - writesBefore, "The touches and deletes should have gone in batches.");
        Assert.Equal(keys.Length / 4 * 3, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid = ANY($1) AND expire > now() + interval '19 minutes'", (object)keys));
        Assert.Equal(keys.Length / 4 * 3, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE sid = ANY($1)", (object)keys));
    }

    [Fact]
    public async Task Each_write_in_a_batch_of_upserts_touches_and_deletes_gets_its_own_version()
    {
        using var table = StandingClockTable();
        ISessionCacheProvider store = table.Cache;
        var others = Enumerable.Range(0, 32).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in others)
        {
            await table.Cache.SetAsync(key, ValueOf(key), Sliding, Token);
        }

        // Due touches and deletes return no rows; the upserts between them in key order must still get their own rows.
        await table.ScalarAsync<int>("UPDATE {table} SET expire = now() + interval '10 minutes'");
        var keys = Enumerable.Range(0, 32).Select(_ => Guid.NewGuid().ToString()).ToArray();
        var sets = new Task<long?>[keys.Length];
        var rest = await BehindAWriteUnderWayAsync(table, () => Enumerable.Range(0, keys.Length).Select(i =>
        {
            // Queued in turn, so that each batch holds both kinds.
            sets[i] = store.SetAsync(keys[i], ValueOf(keys[i]), Sliding, WriteCondition.Always, async: true, Token).AsTask();
            return i % 2 == 0 ? table.Cache.RefreshAsync(others[i], Token) : table.Cache.RemoveAsync(others[i], Token);
        }).ToArray());

        await Task.WhenAll(rest);
        var versions = await Task.WhenAll(sets);

        for (var i = 0; i < keys.Length; i++)
        {
            Assert.Equal(await table.ScalarAsync<long>("SELECT ver FROM {table} WHERE sid = $1", keys[i]), versions[i]);
        }

        var (statements, writeCount, _) = table.Cache.WriteCoalescing;
        Assert.True(statements < writeCount, $"{statements} statements for {writeCount} writes: the writes should have shared statements.");
    }

    [Fact]
    public async Task Writes_of_overlapping_sessions_in_batches_under_way_at_once_never_deadlock()
    {
        using var table = new PostgresTestTable(server);
        var keys = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid().ToString()).ToArray();

        // Each row takes a few milliseconds: batches stall, so several are under way at once, holding row locks.
        await table.Cache.SetAsync("warm-up", [1], Sliding, Token);
        await table.CreateTriggerAsync("PERFORM pg_sleep(0.003);");
        var random = new Random(12);
        var picks = Enumerable.Range(0, 240).Select(_ => random.Next(keys.Length)).ToArray();
        await Parallel.ForAsync(0, picks.Length, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Token }, async (i, token) =>
            await table.Cache.SetAsync(keys[picks[i]], ValueOf($"write {i}"), Sliding, token));

        // Batches that locked their rows in arrival order would have waited on each other in a cycle, until the
        // server's deadlock check rolled one back (a second each) and its writes went again alone.
        Assert.Equal(0, table.Cache.WriteCoalescing.RolledBack);
    }

    /// <summary>
    /// <see cref="Callers"/> writes started together (<see cref="BehindAWriteUnderWayAsync"/>), so that they go as
    /// one batch; a trigger runs <paramref name="refusal"/> for the one at <see cref="Refused"/>. Returns when all
    /// have ended.
    /// </summary>
    private static async Task<(string[] Keys, Task[] Writes)> WriteTogetherWithOneRefusedAsync(PostgresTestTable table, string refusal)
    {
        await table.Cache.SetAsync("warm-up", [1], Sliding, Token);
        await table.CreateTriggerAsync($"IF NEW.sid LIKE 'refused-%' THEN {refusal} END IF;");
        var keys = Enumerable.Range(0, Callers).Select(i => i == Refused ? $"refused-{i}" : $"accepted-{i}").ToArray();
        var writes = await BehindAWriteUnderWayAsync(table, () => keys.Select(key => table.Cache.SetAsync(key, ValueOf(key), Sliding, Token)).ToArray());
        await Task.WhenAll(writes).ContinueWith(_ => { }, TaskScheduler.Default);
        return (keys, writes);
    }

    /// <summary>
    /// Starts the writes of <paramref name="start"/> while a write of another session is under way and cannot end
    /// (the test holds its row's lock), on a table whose clock stands still (<see cref="StandingClockTable"/>): the
    /// write under way never counts as stalled, so every write started meanwhile queues behind it, however slowly
    /// this machine starts them, and they go together once it ends. Returns the started writes.
    /// </summary>
    private static async Task<T[]> BehindAWriteUnderWayAsync<T>(PostgresTestTable table, Func<T[]> start)
    {
        const string Ahead = "a write under way";
        await table.Cache.SetAsync(Ahead, [1], Sliding, Token);
        Task ahead;
        T[] started;
        await using (await table.LockRowAsync(Ahead))
        {
            ahead = table.Cache.SetAsync(Ahead, [2], Sliding, Token);
            started = start();
        }

        await ahead;
        return started;
    }

    /// <summary>A table whose cache's clock stands still: see <see cref="BehindAWriteUnderWayAsync"/>.</summary>
    private PostgresTestTable StandingClockTable() => new(server, time: new FakeTimeProvider(DateTimeOffset.UtcNow));

    private static byte[] ValueOf(string key) => System.Text.Encoding.UTF8.GetBytes($"value of {key}");
}
