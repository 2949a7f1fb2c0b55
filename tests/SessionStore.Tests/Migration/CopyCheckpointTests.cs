using Microsoft.Extensions.Caching.Distributed;
using Npgsql;
using SessionStore.Migration;
using SessionStore.Migration.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Migration;

/// <summary>
/// A checkpoint resumes only the copy that wrote it: the same command, between the same stores — a PostgreSQL table
/// named with its server and database — else it is refused before any store is written.
/// </summary>
[Collection(typeof(BackfillCollection))]
public sealed class CopyCheckpointTests(PostgresServer postgres, RedisServer redis) : IDisposable
{
    private readonly MigrationScenario _scenario = new(postgres, redis);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string NewCheckpoint() => Path.Combine(Path.GetTempPath(), $"copy-checkpoint-{Guid.NewGuid():N}.json");

    /// <summary>Writes sessions to Redis, then backfills until 200 are listed and interrupts: the checkpoint stays.</summary>
    internal static async Task<string[]> InterruptedBackfillAsync(MigrationScenario scenario, SessionStoreOptions options, string checkpoint)
    {
        var keys = await scenario.WriteRedisSessionsAsync(400);
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new RedisToPostgresBackfill(options).RunAsync(
            new BackfillOptions { CheckpointPath = checkpoint, BatchSize = 50 },
            new SynchronousProgress<BackfillProgress>(p =>
            {
                if (p.Scanned >= 200)
                {
                    interrupt.Cancel();
                }
            }),
            interrupt.Token));
        Assert.True(File.Exists(checkpoint));
        return keys;
    }

    [Fact]
    public async Task A_sync_refuses_a_backfill_checkpoint_before_anything_is_copied()
    {
        // In DualWriteRedisPrimary both copy Redis to PostgreSQL: resumed, sync skipped the older copies the backfill had listed.
        await _scenario.CreateTableAsync();
        var checkpoint = NewCheckpoint();
        var keys = await InterruptedBackfillAsync(_scenario, _scenario.Options(), checkpoint);
        var older = MigrationScenario.Session(9999);
        foreach (var key in keys)
        {
            await _scenario.Postgres.SetAsync(key, older, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new SessionStoreSync(_scenario.Options()).RunAsync(
            new BackfillOptions { CheckpointPath = checkpoint, BatchSize = 50 }, cancellationToken: Token));

        Assert.Contains($"The checkpoint file {checkpoint} was written by a backfill, not a sync", error.Message, StringComparison.Ordinal);
        Assert.Contains("sessionstore backfill", error.Message, StringComparison.Ordinal);
        Assert.Contains("--restart", error.Message, StringComparison.Ordinal);
        foreach (var key in keys)
        {
            Assert.Equal(older, await _scenario.Postgres.GetAsync(key, Token));
        }

        // With Restart the sync lists everything and replaces every older copy.
        var result = await new SessionStoreSync(_scenario.Options()).RunAsync(new BackfillOptions { CheckpointPath = checkpoint, Restart = true }, cancellationToken: Token);
        Assert.Equal(keys.Length, result.Replaced);
    }

    [Fact]
    public async Task A_backfill_refuses_a_sync_checkpoint()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(400);
        var checkpoint = NewCheckpoint();
        using (var interrupt = CancellationTokenSource.CreateLinkedTokenSource(Token))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new SessionStoreSync(_scenario.Options()).RunAsync(
                new BackfillOptions { CheckpointPath = checkpoint, BatchSize = 50 },
                new SynchronousProgress<BackfillProgress>(p =>
                {
                    if (p.Scanned >= 200)
                    {
                        interrupt.Cancel();
                    }
                }),
                interrupt.Token));
        }

        var copied = (await _scenario.PostgresKeysAsync()).Count;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new RedisToPostgresBackfill(_scenario.Options()).RunAsync(
            new BackfillOptions { CheckpointPath = checkpoint }, cancellationToken: Token));

        Assert.Contains($"The checkpoint file {checkpoint} was written by a sync, not a backfill", error.Message, StringComparison.Ordinal);
        Assert.Equal(copied, (await _scenario.PostgresKeysAsync()).Count);
    }

    [Fact]
    public async Task A_backfill_refuses_a_checkpoint_of_the_same_table_in_another_database()
    {
        // Resumed against another database holding (or creating) a table of the same name, the backfill skipped the
        // sessions the first run had listed: they were never copied there, and the run said it was complete.
        await _scenario.CreateTableAsync();
        var checkpoint = NewCheckpoint();
        await InterruptedBackfillAsync(_scenario, _scenario.Options(), checkpoint);
        var other = $"ckpt_{Guid.NewGuid():N}"[..20];
        await using (var create = postgres.DataSource.CreateCommand($"CREATE DATABASE {other}"))
        {
            await create.ExecuteNonQueryAsync(Token);
        }

        try
        {
            var options = _scenario.Options();
            var settings = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = other };
            options.Postgres.ConnectionString = settings.ConnectionString;
            options.Postgres.CreateTableIfMissing = true;

            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new RedisToPostgresBackfill(options).RunAsync(
                new BackfillOptions { CheckpointPath = checkpoint }, cancellationToken: Token));

            Assert.Contains($"The checkpoint file {checkpoint} belongs to a copy from", error.Message, StringComparison.Ordinal);
            Assert.Contains($"/{other} public.{_scenario.Table}", error.Message, StringComparison.Ordinal);
            Assert.Contains("--restart", error.Message, StringComparison.Ordinal);

            // Refused before the target's table is created.
            await using var data = NpgsqlDataSource.Create(settings.ConnectionString);
            await using var exists = data.CreateCommand($"SELECT to_regclass('\"public\".\"{_scenario.Table}\"') IS NOT NULL");
            Assert.Equal(false, await exists.ExecuteScalarAsync(Token));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var drop = postgres.DataSource.CreateCommand($"DROP DATABASE IF EXISTS {other} WITH (FORCE)");
            await drop.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"Format":2,"Source":"s","Target":"t"}""")]
    public async Task A_checkpoint_written_before_format_3_is_refused_before_the_target_table_is_created(string json)
    {
        // It recorded neither the command nor the PostgreSQL database, so whether it belongs to this copy is unknown.
        await _scenario.WriteRedisSessionsAsync(3);
        var checkpoint = NewCheckpoint();
        await File.WriteAllTextAsync(checkpoint, json, Token);
        var options = _scenario.Options();
        options.Postgres.CreateTableIfMissing = true;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new RedisToPostgresBackfill(options).RunAsync(new BackfillOptions { CheckpointPath = checkpoint }, cancellationToken: Token));

        Assert.Contains($"The checkpoint file {checkpoint} was written by an older SessionStore", error.Message, StringComparison.Ordinal);
        Assert.Contains("--restart", error.Message, StringComparison.Ordinal);
        Assert.Equal(false, await _scenario.ScalarAsync("SELECT to_regclass($1) IS NOT NULL", $"\"{_scenario.Table}\""));
    }

    [Theory]
    [InlineData("Host=db1;Port=5433;Database=sessions;Username=app;Password=s3cret", "db1:5433/sessions")]
    [InlineData("Host=db2,db1:6000;Database=sessions;Username=app;Password=s3cret", "db1:6000, db2:5432/sessions")]
    [InlineData("Host=[::1]:5433,::1;Database=s;User ID=app", "::1:5432, [::1]:5433/s")]
    [InlineData("Host=db1;Username=app;Password=s3cret", "db1:5432/(the user's default database)")]
    public void A_table_is_named_by_its_hosts_ports_and_database_never_its_user_or_password(string connectionString, string expected)
    {
        var server = PostgresTable.Server(new NpgsqlConnectionStringBuilder(connectionString));

        Assert.Equal(expected, server);
        Assert.DoesNotContain("app", server, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", server, StringComparison.Ordinal);
    }

    public void Dispose() => _scenario.Dispose();
}
