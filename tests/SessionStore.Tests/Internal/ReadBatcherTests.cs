using Microsoft.Extensions.Time.Testing;
using SessionStore.Postgres.Internal;

namespace SessionStore.Tests.Internal;

/// <summary>
/// The rules that coalesce concurrent reads (<see cref="ReadBatcher{TRow}"/>): who goes alone, who waits, and that
/// neither a failed nor a never-ending statement holds the reads behind it. The coalesced statements here are
/// stand-ins the test completes by hand; the batcher against a real server is in <c>Postgres/CoalescedReadTests</c>.
/// </summary>
public sealed class ReadBatcherTests
{
    private static readonly TimeSpan AbandonAfter = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider _time = new();
    private readonly List<(string[] Keys, TaskCompletionSource<int?[]> Done)> _statements = [];

    [Fact]
    public void A_read_with_nothing_under_way_goes_alone_and_the_next_one_waits_for_it()
    {
        var batcher = Batcher();

        Assert.True(batcher.TryReadAlone(out var lease));
        Assert.False(batcher.TryReadAlone(out _));

        batcher.Release(lease);
        Assert.True(batcher.TryReadAlone(out _));
    }

    [Fact]
    public async Task Reads_that_arrive_while_one_is_under_way_go_together_when_it_ends()
    {
        var batcher = Batcher();
        Assert.True(batcher.TryReadAlone(out var lease));
        var reads = new[] { "a", "b", "c" }.Select(batcher.ReadTogetherAsync).ToArray();
        Assert.Empty(_statements);

        batcher.Release(lease);
        var (keys, done) = Assert.Single(_statements);
        Assert.Equal(["a", "b", "c"], keys);
        done.SetResult([1, null, 3]);

        Assert.Equal([1, null, 3], await Task.WhenAll(reads));
        Assert.Equal(2, batcher.Statements);
        Assert.Equal(4, batcher.Reads);
    }

    [Fact]
    public async Task A_failed_statement_fails_each_read_in_it_and_the_reads_after_it_still_go()
    {
        var batcher = Batcher();
        Assert.True(batcher.TryReadAlone(out var lease));
        var failing = new[] { "a", "b" }.Select(batcher.ReadTogetherAsync).ToArray();
        batcher.Release(lease);

        var next = batcher.ReadTogetherAsync("c");
        _statements[0].Done.SetException(new InvalidOperationException("the server went away"));
        foreach (var read in failing)
        {
            Assert.Equal("the server went away", (await Assert.ThrowsAsync<InvalidOperationException>(() => read)).Message);
        }

        // The failed statement's lease went on to the read queued behind it, alone in its statement.
        var (keys, done) = _statements[1];
        Assert.Equal(["c"], keys);
        done.SetResult([3]);
        Assert.Equal(3, await next);
    }

    [Fact]
    public async Task A_statement_slower_than_a_millisecond_lets_the_next_reads_start_their_own()
    {
        var batcher = Batcher();
        Assert.True(batcher.TryReadAlone(out _));
        _time.Advance(TimeSpan.FromMilliseconds(2));

        var read = batcher.ReadTogetherAsync("b");
        var (keys, done) = Assert.Single(_statements);
        Assert.Equal(["b"], keys);
        done.SetResult([2]);
        Assert.Equal(2, await read);
    }

    [Fact]
    public async Task Statements_that_never_end_hold_reads_back_only_until_they_count_as_abandoned()
    {
        var batcher = Batcher();
        for (var i = 0; i < ReadBatcher<int>.MaximumInFlight; i++)
        {
            Assert.True(batcher.TryReadAlone(out _));
            _time.Advance(TimeSpan.FromMilliseconds(2));
        }

        // Every lease is taken and none has ended: the next read waits, however slow the others are...
        var held = batcher.ReadTogetherAsync("a");
        var waiting = batcher.ReadTogetherAsync("b");
        Assert.False(held.IsCompleted);

        // ...until the oldest counts as abandoned: then the queued reads go, and new reads with them.
        _time.Advance(AbandonAfter);
        var next = batcher.ReadTogetherAsync("c");
        var (keys, done) = Assert.Single(_statements);
        Assert.Equal(["a", "b", "c"], keys);
        done.SetResult([1, 2, 3]);
        Assert.Equal([1, 2, 3], await Task.WhenAll(held, waiting, next));
    }

    private ReadBatcher<int> Batcher() => new(
        keys =>
        {
            var done = new TaskCompletionSource<int?[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            _statements.Add((keys, done));
            return done.Task;
        },
        AbandonAfter,
        _time);
}
