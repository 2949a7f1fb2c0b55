using CsCheck;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>
/// Concurrent reads go to the server together, several keys in one statement (<c>StatementBatcher</c>). Whatever the
/// mix, each read must get exactly what a read alone would: its own session, nothing for a missing or expired
/// one, its own copy of a session another request reads in the same statement, and the touch when it is due.
/// </summary>
public sealed class CoalescedReadTests(PostgresServer server)
{
    private const int Stored = 30;
    private const int Expired = 5;
    private const int Missing = 10;
    private static readonly DistributedCacheEntryOptions Sliding = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<PostgresPayloadFormat> Formats() => [PostgresPayloadFormat.Jsonb, PostgresPayloadFormat.Bytea];

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Concurrent_reads_of_any_mix_of_keys_each_get_what_a_read_alone_would(PostgresPayloadFormat format)
    {
        using var table = new PostgresTestTable(server, o => o.PayloadFormat = format);
        var keys = Enumerable.Range(0, Stored + Missing).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in keys.Take(Stored))
        {
            await table.Cache.SetAsync(key, ValueOf(key), Sliding, Token);
        }

        await table.ScalarAsync<int>("UPDATE {table} SET expire = now() - interval '1 second' WHERE sid = ANY($1)", (object)keys.Take(Expired).ToArray());
        byte[]? Expected(int i) => i is >= Expired and < Stored ? ValueOf(keys[i]) : null;

        // Reads of keys picked at random (repeats included), from 2 to 32 callers at once.
        await Gen.Select(Gen.Int[0, keys.Length - 1].Array[1, 200], Gen.Int[2, 32]).SampleAsync(async (reads, callers) =>
        {
            var results = new byte[]?[reads.Length];
            await Parallel.ForAsync(0, reads.Length, new ParallelOptions { MaxDegreeOfParallelism = callers, CancellationToken = Token }, async (i, token) =>
                results[i] = await table.Cache.GetAsync(keys[reads[i]], token));

            for (var i = 0; i < reads.Length; i++)
            {
                Assert.Equal(Expected(reads[i]), results[i]);
            }

            // No two reads share an array, even of the same session in the same statement.
            Assert.Equal(results.Count(r => r is not null), results.Where(r => r is not null).Distinct(ReferenceEqualityComparer.Instance).Count());
        }, iter: 40);

        var (statements, readCount) = table.Cache.ReadCoalescing;
        Assert.True(statements < readCount, $"{statements} statements for {readCount} reads: concurrent reads should have shared statements.");
    }

    [Fact]
    public async Task Coalesced_reads_touch_each_session_whose_touch_is_due()
    {
        using var table = new PostgresTestTable(server);
        var keys = Enumerable.Range(0, 64).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in keys)
        {
            await table.Cache.SetAsync(key, ValueOf(key), Sliding, Token);
        }

        // Ten minutes behind a 20-minute window: due for its touch at the default threshold.
        await table.ScalarAsync<int>("UPDATE {table} SET expire = now() + interval '10 minutes'");
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Token }, async (key, token) =>
            Assert.Equal(ValueOf(key), await table.Cache.GetAsync(key, token)));

        Assert.Equal(keys.Length, await table.ScalarAsync<long>("SELECT count(*) FROM {table} WHERE expire > now() + interval '19 minutes'"));
    }

    [Fact]
    public async Task A_read_that_starts_after_a_write_ended_sees_that_write_while_other_reads_run()
    {
        using var table = new PostgresTestTable(server);
        var keys = Enumerable.Range(0, 16).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in keys)
        {
            await table.Cache.SetAsync(key, ValueOf(key), Sliding, Token);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var background = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await table.Cache.GetAsync(keys[i], stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        })).ToArray();

        for (var round = 0; round < 200; round++)
        {
            var key = keys[round % keys.Length];
            var value = ValueOf($"{key} round {round}");
            await table.Cache.SetAsync(key, value, Sliding, Token);
            Assert.Equal(value, await table.Cache.GetAsync(key, Token));
        }

        await stop.CancelAsync();
        await Task.WhenAll(background);
    }

    private static byte[] ValueOf(string key) => System.Text.Encoding.UTF8.GetBytes($"value of {key}");
}
