using SessionStore.Migration;
using SessionStore.Migration.Internal;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Migration;

/// <summary>
/// The copier's passes, driven by a scripted topology over real stores: a pass during which the source's topology
/// changed is repeated, and a run whose every pass saw a change ends not complete instead of claiming it is.
/// </summary>
public sealed class CopyPassesTests(PostgresServer postgres, RedisServer redis) : IDisposable
{
    private static readonly SourceTopology Before = new("slots at A", Settled: true, CanChange: true);
    private static readonly SourceTopology After = new("slots at B", Settled: true, CanChange: true);

    private readonly MigrationScenario _scenario = new(postgres, redis);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_pass_during_which_the_topology_changed_is_followed_by_another_and_then_the_run_is_complete()
    {
        await _scenario.CreateTableAsync();
        var keys = await _scenario.WriteRedisSessionsAsync(300);
        ScriptedTopologySource? source = null;

        var result = await Backfill(inner => source = new ScriptedTopologySource(inner, call => call == 1 ? Before : After))
            .RunAsync(new BackfillOptions { BatchSize = 100 }, cancellationToken: Token);

        Assert.True(result.Completed);
        Assert.True(result.TopologyChanged);
        Assert.Equal(2, result.Passes);
        Assert.Equal((600, 300, 300), (result.Scanned, result.Copied, result.AlreadyPresent));
        Assert.Empty(keys.Except(await _scenario.PostgresKeysAsync()));
        Assert.Equal(5, source!.TopologyReads); // start and end of each pass, and one look before the second
    }

    [Fact]
    public async Task A_run_whose_every_pass_saw_the_topology_change_ends_not_complete_and_leaves_no_checkpoint()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(50);
        var checkpoint = Path.Combine(Path.GetTempPath(), $"passes-{Guid.NewGuid():N}.json");

        var result = await Backfill(inner => new ScriptedTopologySource(inner, call => new SourceTopology($"epoch {call}", Settled: true, CanChange: true)))
            .RunAsync(new BackfillOptions { MaxPasses = 2, CheckpointPath = checkpoint }, cancellationToken: Token);

        Assert.False(result.Completed);
        Assert.True(result.TopologyChanged);
        Assert.Equal(2, result.Passes);
        Assert.Equal(100, result.Scanned);
        Assert.False(File.Exists(checkpoint));
    }

    [Fact]
    public async Task A_slot_still_migrating_when_the_pass_ends_makes_it_incomplete_even_with_the_same_slot_map()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(20);
        var migrating = new SourceTopology("slots at A", Settled: false, CanChange: true);

        var result = await Backfill(inner => new ScriptedTopologySource(inner, call => call == 1 ? Before : migrating))
            .RunAsync(new BackfillOptions { MaxPasses = 1 }, cancellationToken: Token);

        Assert.False(result.Completed);
        Assert.Equal(1, result.Passes);
    }

    [Fact]
    public async Task A_single_server_needs_one_pass()
    {
        await _scenario.CreateTableAsync();
        await _scenario.WriteRedisSessionsAsync(20);

        var result = await new RedisToPostgresBackfill(_scenario.Options()).RunAsync(new BackfillOptions(), cancellationToken: Token);

        Assert.Equal((true, 1, false, 20L), (result.Completed, result.Passes, result.TopologyChanged, result.Copied));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public async Task MaxPasses_outside_1_to_100_is_refused_before_any_store_is_touched(int passes)
    {
        var options = _scenario.Options();
        options.Redis.Configuration = "127.0.0.1:1,connectTimeout=100";

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => new RedisToPostgresBackfill(options).RunAsync(new BackfillOptions { MaxPasses = passes }, cancellationToken: Token));

        Assert.Equal(nameof(BackfillOptions.MaxPasses), error.ParamName);
        Assert.Contains("between 1 and 100", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public async Task A_blank_checkpoint_path_is_refused_before_any_store_is_touched(string path)
    {
        var options = _scenario.Options();
        options.Redis.Configuration = "127.0.0.1:1,connectTimeout=100";

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new RedisToPostgresBackfill(options).RunAsync(new BackfillOptions { CheckpointPath = path }, cancellationToken: Token));

        Assert.Equal(nameof(BackfillOptions.CheckpointPath), error.ParamName);
    }

    private RedisToPostgresBackfill Backfill(Func<ICopySource, ICopySource> decorate) => new(_scenario.Options(), decorate);

    public void Dispose() => _scenario.Dispose();
}
