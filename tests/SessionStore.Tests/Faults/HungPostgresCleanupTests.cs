using System.Diagnostics;
using SessionStore.Cleanup;
using SessionStore.Postgres;
using SessionStore.Tests.Cleanup;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Faults;

/// <summary>
/// A cleanup run called without a deadline of the caller's own, on a PostgreSQL hung (SIGSTOP) under one of its
/// steps: it fails within that step's bound, naming the step and the setting, and the next run once the server
/// answers again finds the lock free. Npgsql's own timeouts had held such a run about three times as long.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class HungPostgresCleanupTests(FaultServers servers, ITestOutputHelper output)
{
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StatementTimeout = TimeSpan.FromSeconds(2);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>
    /// Hung before a run: its first step that reaches the server fails. A cache that creates its table checks the
    /// schema on its first use; one that has run already holds a pooled connection, and goes straight to the lock.
    /// </summary>
    [Theory]
    [InlineData(true, "cleanup schema check")]
    [InlineData(false, "cleanup lock")]
    public async Task Hung_before_the_run_it_fails_at_its_first_step_within_the_operation_timeout(bool firstRun, string step)
    {
        var (cache, table) = await CacheOnNewTableAsync(checksTheSchema: firstRun);
        using var _ = cache;
        var cleaner = new PostgresSessionCleaner(cache, new PostgresCleanupOptions { StatementTimeout = StatementTimeout });
        if (!firstRun)
        {
            await cleaner.RunOnceAsync(Token); // a pooled connection, so that the next run's statements reach the server
        }

        SessionStoreTimeoutException error;
        TimeSpan elapsed;
        await using (var freezer = await servers.PostgresFreezerAsync())
        {
            await freezer.FreezeAsync();
            (error, elapsed) = await HungServerTiming.FailsAsync<SessionStoreTimeoutException>(() => cleaner.RunOnceAsync(Token));
            await freezer.ThawAsync();
        }

        output.WriteLine($"Cleanup on hung PostgreSQL failed after {elapsed.TotalMilliseconds:0} ms: {error.Message}");
        // The step's bound and Npgsql's own timeout are both OperationTimeout: either may fire first, and both name it.
        Assert.Equal(("postgresql", step, "OperationTimeout"), (error.Store, error.Operation, error.Setting));
        Assert.Contains("Options.OperationTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{step} on public.{table}", error.Message, StringComparison.Ordinal);
        Assert.InRange(elapsed, OperationTimeout - TimeSpan.FromMilliseconds(50), OperationTimeout + HungServerTiming.Slack);
        await AssertTheNextRunCleansAsync(cleaner, table, expected: 0);
    }

    [Fact]
    public async Task Hung_during_a_batch_it_fails_within_the_statement_timeout_plus_the_operation_timeout()
    {
        var (cache, table) = await CacheOnNewTableAsync();
        using var _ = cache;
        await ExecuteAsync($$"""
            INSERT INTO {{table}} (sid, sess, expire) SELECT 'expired-' || g, '{"b64": "AQID"}'::jsonb, now() - interval '1 minute' FROM generate_series(1, 10) AS g;
            {{PostgresSessionCleanerTests.SlowDeletes(table, TimeSpan.FromSeconds(1))}}
            """);
        var cleaner = new PostgresSessionCleaner(cache, new PostgresCleanupOptions { StatementTimeout = StatementTimeout });
        SessionStoreTimeoutException error;
        TimeSpan elapsed;
        await using (var freezer = await servers.PostgresFreezerAsync())
        {
            var run = Assert.ThrowsAsync<SessionStoreTimeoutException>(() => cleaner.RunOnceAsync(Token));
            await WaitUntilAsync(() => ScalarAsync<long>($"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%DELETE FROM%{table}%' AND pid <> pg_backend_pid()"), n => n == 1);
            var watch = Stopwatch.StartNew(); // the batch started a moment ago, and is inside its one-second trigger
            await freezer.FreezeAsync();
            error = await run;
            elapsed = watch.Elapsed;
            await freezer.ThawAsync();
        }

        output.WriteLine($"Cleanup hung in a batch failed after {elapsed.TotalMilliseconds:0} ms: {error.Message}");
        Assert.Equal(("postgresql", "cleanup batch", "StatementTimeout"), (error.Store, error.Operation, error.Setting));
        Assert.Contains("PostgresCleanupOptions.StatementTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains($"cleanup batch on public.{table}", error.Message, StringComparison.Ordinal);
        Assert.InRange(elapsed, StatementTimeout + OperationTimeout - HungServerTiming.Slack, StatementTimeout + OperationTimeout + HungServerTiming.Slack);
        await AssertTheNextRunCleansAsync(cleaner, table, expected: 10);
    }

    /// <summary>Once the abandoned statement has ended, the lock is free: a run cleans instead of skipping.</summary>
    private static async Task AssertTheNextRunCleansAsync(PostgresSessionCleaner cleaner, string table, long expected)
    {
        var deadline = Stopwatch.StartNew();
        PostgresCleanupResult next;
        while ((next = await cleaner.RunOnceAsync(Token)).SkippedBecauseLocked)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"the cleanup lock of {table} was still held 30 s after the server resumed");
            await Task.Delay(100, Token);
        }

        Assert.Equal(expected, next.RowsDeleted);
    }

    /// <summary>
    /// A cache with a one-second operation timeout on a table of its own, created while the server answers; it checks
    /// the table's schema on first use when <paramref name="checksTheSchema"/> (CreateTableIfMissing).
    /// </summary>
    private async Task<(PostgresSessionCache Cache, string Table)> CacheOnNewTableAsync(bool checksTheSchema = false)
    {
        var table = PostgresServer.UniqueTableName("hungclean");
        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(servers.PostgresConnectionString))
        {
            await new PostgresSchemaMigrator(dataSource, "public", table).MigrateAsync(Token);
        }

        var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = servers.PostgresConnectionString, TableName = table, OperationTimeout = OperationTimeout, CreateTableIfMissing = checksTheSchema });
        return (cache, table);
    }

    private async Task ExecuteAsync(string sql) => await ScalarAsync<object>(sql);

    private async Task<T?> ScalarAsync<T>(string sql)
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(servers.PostgresConnectionString);
        await using var command = dataSource.CreateCommand(sql);
        var result = await command.ExecuteScalarAsync(Token);
        return result is null or DBNull ? default : (T)result;
    }

    private static async Task WaitUntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition(await read()))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "the condition did not become true within 10 s");
            await Task.Delay(10, Token);
        }
    }
}
