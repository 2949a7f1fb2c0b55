using System.Diagnostics;
using SessionStore.Migration;
using SessionStore.Migration.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Migration;

/// <summary>A checkpoint path that is no checkpoint: each is refused naming the file, without blocking or reading without end.</summary>
[Collection(typeof(BackfillCollection))]
public sealed class CheckpointFileTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_named_pipe_behind_a_link_is_refused_within_seconds_instead_of_blocking_for_ever()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var pipe = Path.Combine(Path.GetTempPath(), $"checkpoint-{Guid.NewGuid():N}.pipe");
        using (var mkfifo = Process.Start("mkfifo", pipe))
        {
            await mkfifo.WaitForExitAsync(Token);
        }

        var link = pipe + ".json";
        File.CreateSymbolicLink(link, pipe);
        try
        {
            var run = new RedisToPostgresBackfill(scenario.Options()).RunAsync(new BackfillOptions { CheckpointPath = link }, cancellationToken: Token);
            var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(20), Token)) == run;
            if (!finished)
            {
                await File.WriteAllTextAsync(pipe, "{}", Token); // lets the blocked reader go
            }

            Assert.True(finished, "the backfill still waited on the pipe after 20 s");
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => run);
            Assert.Contains($"The checkpoint file {link} could not be read within 5 s: it is not a regular file", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(link);
            File.Delete(pipe);
        }
    }

    [Fact]
    public async Task A_device_that_never_ends_is_refused_after_a_few_kilobytes()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        var link = Path.Combine(Path.GetTempPath(), $"checkpoint-{Guid.NewGuid():N}.json");
        File.CreateSymbolicLink(link, "/dev/zero");
        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new RedisToPostgresBackfill(scenario.Options()).RunAsync(new BackfillOptions { CheckpointPath = link }, cancellationToken: Token));
            Assert.Contains($"The checkpoint file {link} holds more than 64 KiB", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(link);
        }
    }

    [Theory]
    [InlineData("ab\0c")]                                    // PostgreSQL text cannot hold it: a server error, exit 3
    [InlineData("~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~")] // longer than any position written: resumed past every key
    public void A_damaged_PostgreSQL_position_cannot_be_resumed_from(string position)
    {
        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = "Host=localhost", TableName = "sessions" });
        var table = new PostgresTable(cache);

        Assert.False(table.CanResumeFrom(position));
        Assert.True(table.CanResumeFrom("3f2a"));
        Assert.True(table.CanResumeFrom(""));
    }
}
