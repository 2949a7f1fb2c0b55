using Microsoft.Extensions.Caching.Distributed;
using Npgsql;
using SessionStore.Postgres;

namespace SessionStore.Tests.Chaos;

/// <summary>
/// Reads reuse closed connections and prepared commands from a pool of their own (<c>PooledKeyCommand</c>). A pooled
/// command must never serve two reads at once (not even one the cache stopped waiting for), and a command whose
/// connection broke must come back working.
/// </summary>
[Collection(nameof(ChaosCollection))]
public sealed class PooledReadTests(ChaosServers servers)
{
    private static readonly DistributedCacheEntryOptions Sliding = new() { SlidingExpiration = TimeSpan.FromMinutes(20) };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_reads_each_get_their_own_value()
    {
        using var cache = Cache();
        var keys = Enumerable.Range(0, 200).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in keys)
        {
            await cache.SetAsync(key, ValueOf(key), Sliding, Token);
        }

        var wrong = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 6_400), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = Token }, async (i, token) =>
        {
            var key = keys[i % keys.Length];
            var read = await cache.GetAsync(key, token);
            if (!ValueOf(key).AsSpan().SequenceEqual(read))
            {
                Interlocked.Increment(ref wrong);
            }
        });

        Assert.Equal(0, wrong);
    }

    [Fact]
    public async Task Reads_abandoned_on_a_hung_server_never_answer_for_the_reads_after_them()
    {
        using var cache = Cache(TimeSpan.FromMilliseconds(300));
        var keys = Enumerable.Range(0, 8).Select(_ => Guid.NewGuid().ToString()).ToArray();
        foreach (var key in keys)
        {
            await cache.SetAsync(key, ValueOf(key), Sliding, Token);
        }

        await servers.Postgres.PauseAsync();
        try
        {
            // Each of these is abandoned with its pooled command still waiting for the server.
            foreach (var key in keys)
            {
                await Assert.ThrowsAsync<SessionStoreTimeoutException>(() => cache.GetAsync(key, Token));
            }
        }
        finally
        {
            await servers.Postgres.ResumeAsync();
        }

        // The abandoned reads now finish in the background while new reads of other keys run.
        for (var round = 0; round < 20; round++)
        {
            await Task.WhenAll(keys.Select(async (key, i) =>
            {
                var other = keys[(i + round + 1) % keys.Length];
                Assert.Equal(ValueOf(other), await cache.GetAsync(other, Token));
            }));
        }
    }

    [Fact]
    public async Task A_read_whose_pooled_connection_was_terminated_recovers()
    {
        using var cache = Cache();
        var key = Guid.NewGuid().ToString();
        await cache.SetAsync(key, ValueOf(key), Sliding, Token);
        Assert.Equal(ValueOf(key), await cache.GetAsync(key, Token));

        await using (var admin = NpgsqlDataSource.Create(servers.Postgres.ConnectionString))
        {
            await using var terminate = admin.CreateCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
            Assert.True((long)(await terminate.ExecuteScalarAsync(Token))! >= 1);
        }

        // The first read may meet the dead connection; the failure breaks it and the pool opens a new one.
        byte[]? read = null;
        for (var attempt = 0; attempt < 3 && read is null; attempt++)
        {
            try
            {
                read = await cache.GetAsync(key, Token);
            }
            catch (NpgsqlException)
            {
            }
        }

        Assert.Equal(ValueOf(key), read);
    }

    private PostgresSessionCache Cache(TimeSpan? operationTimeout = null)
    {
        servers.Require();
        return new PostgresSessionCache(Microsoft.Extensions.Options.Options.Create(new PostgresSessionCacheOptions
        {
            ConnectionString = servers.Postgres.ConnectionString,
            TableName = $"pooled_{Guid.NewGuid():N}",
            CreateTableIfMissing = true,
            OperationTimeout = operationTimeout ?? SessionCacheProviderOptions.DefaultOperationTimeout,
        }));
    }

    private static byte[] ValueOf(string key) => System.Text.Encoding.UTF8.GetBytes($"value of {key}");
}
