using SessionStore.Migration;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Migration;

/// <summary>Sizes and HOT counts on the PostgreSQL the tests run (15 on CI), where pg_partition_tree lists no plain table.</summary>
public sealed class StorageStatisticsTests(PostgresServer postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Table_and_index_sizes_and_updates_are_counted_on_plain_and_partitioned_tables(bool partitioned)
    {
        var options = new SessionStoreOptions { Phase = SessionStorePhase.PostgresOnly };
        options.Postgres.ConnectionString = postgres.ConnectionString;
        options.Postgres.TableName = PostgresServer.UniqueTableName("stats");
        options.Postgres.CreateTableIfMissing = true;
        options.Postgres.Partitioning = partitioned ? new PostgresPartitioningOptions { Interval = TimeSpan.FromMinutes(1), Horizon = TimeSpan.FromMinutes(30) } : null;
        using (var cache = new PostgresSessionCache(options.Postgres))
        {
            for (var i = 0; i < 50; i++)
            {
                await cache.SetAsync($"k{i}", new byte[300], new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
                await cache.SetAsync($"k{i}", new byte[301], new() { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
            }
        }

        var statistics = await StorageStatistics.CollectAsync(options, Token);
        // The server publishes table statistics about once a second after a transaction ends.
        for (var waited = 0; statistics.Updates == 0 && waited < 40; waited++)
        {
            await Task.Delay(250, Token);
            statistics = await StorageStatistics.CollectAsync(options, Token);
        }

        Assert.Equal(50, statistics.PostgresLiveSessions);
        Assert.InRange(statistics.TableBytes!.Value, 8192, long.MaxValue);
        Assert.Contains(statistics.IndexBytes, i => i.Key.EndsWith("_pkey", StringComparison.Ordinal) && i.Value >= 8192);
        Assert.Contains(statistics.IndexBytes, i => i.Key.EndsWith("_user_id_idx", StringComparison.Ordinal) && i.Value >= 8192);
        Assert.InRange(statistics.Updates!.Value, 50, long.MaxValue);
        Assert.NotNull(statistics.HotUpdateRatio);
    }

    [Theory]
    [InlineData("127.0.0.1:1,connectTimeout=abc", null)]
    [InlineData("127.0.0.1:1", "-00:00:01")]
    public async Task A_Redis_configured_but_unusable_is_refused_naming_it_not_counted_as_absent(string configuration, string? operationTimeout)
    {
        var options = new SessionStoreOptions();
        options.Postgres.ConnectionString = postgres.ConnectionString;
        options.Redis.Configuration = configuration;
        if (operationTimeout is not null)
        {
            options.Redis.OperationTimeout = TimeSpan.Parse(operationTimeout, System.Globalization.CultureInfo.InvariantCulture);
        }

        var error = await Assert.ThrowsAsync<ArgumentException>(() => StorageStatistics.CollectAsync(options, Token));

        Assert.StartsWith("SessionStore:Redis: ", error.Message, StringComparison.Ordinal);
    }
}
