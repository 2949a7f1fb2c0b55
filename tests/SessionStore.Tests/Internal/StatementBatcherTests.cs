using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using SessionStore.Postgres.Internal;

namespace SessionStore.Tests.Internal;

/// <summary>
/// The rules that coalesce concurrent reads (<see cref="StatementBatcher{TRequest, TResult}"/>): who goes alone, who waits, and that
/// neither a failed, a stalled nor a never-ending statement holds the reads behind it. The coalesced statements
/// here are stand-ins the test completes by hand; the batcher against a real server is in
/// <c>Postgres/CoalescedReadTests</c>.
/// </summary>
public sealed class StatementBatcherTests : IDisposable
{
    private static readonly TimeSpan AbandonAfter = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider _time = new();
    private readonly Channel<(string[] Keys, TaskCompletionSource<int?[]> Done)> _statements = Channel.CreateUnbounded<(string[], TaskCompletionSource<int?[]>)>();
    private readonly StatementBatcher<string, int?> _batcher;

    public StatementBatcherTests() => _batcher = new StatementBatcher<string, int?>(
        keys =>
        {
            var done = new TaskCompletionSource<int?[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            _statements.Writer.TryWrite((keys, done));
            return done.Task;
        },
        AbandonAfter,
        _time);

    [Fact]
    public void A_read_with_nothing_under_way_goes_alone_and_the_next_one_waits_for_it()
    {
        Assert.True(_batcher.TryGoAlone(out var lease));
        Assert.False(_batcher.TryGoAlone(out _));

        _batcher.Release(lease);
        Assert.True(_batcher.TryGoAlone(out _));
    }

    [Fact]
    public async Task Reads_that_arrive_while_one_is_under_way_go_together_when_it_ends()
    {
        Assert.True(_batcher.TryGoAlone(out var lease));
        var reads = new[] { "a", "b", "c" }.Select(key => Queue(key)).ToArray();
        Assert.False(_statements.Reader.TryPeek(out _));

        _batcher.Release(lease);
        await AnswerNextStatementAsync(["a", "b", "c"], [1, null, 3]);

        Assert.Equal([1, null, 3], await Within(Task.WhenAll(reads)));
        Assert.Equal(2, _batcher.Statements);
        Assert.Equal(4, _batcher.Requests);
    }

    [Fact]
    public async Task A_failed_statement_fails_each_read_in_it_and_the_reads_after_it_still_go()
    {
        Assert.True(_batcher.TryGoAlone(out var lease));
        var failing = new[] { "a", "b" }.Select(key => Queue(key)).ToArray();
        _batcher.Release(lease);
        var first = await NextStatementAsync();

        var next = Queue("c");
        first.Done.SetException(new InvalidOperationException("the server went away"));
        foreach (var read in failing)
        {
            Assert.Equal("the server went away", (await Assert.ThrowsAsync<InvalidOperationException>(() => Within(read))).Message);
        }

        await AnswerNextStatementAsync(["c"], [3]);
        Assert.Equal(3, await Within(next));
    }

    [Fact]
    public async Task A_statement_slower_than_a_millisecond_lets_the_next_read_start_its_own()
    {
        Assert.True(_batcher.TryGoAlone(out _));
        _time.Advance(TimeSpan.FromMilliseconds(2));

        var read = Queue("b");
        await AnswerNextStatementAsync(["b"], [2]);
        Assert.Equal(2, await Within(read));
    }

    [Fact]
    public async Task Reads_queued_behind_a_statement_that_stalls_go_when_no_other_read_arrives()
    {
        Assert.True(_batcher.TryGoAlone(out _));
        var read = Queue("b");
        Assert.False(_statements.Reader.TryPeek(out _));

        // Nothing else arrives: the clock alone must start the queued read once the statement ahead counts as stalled.
        _time.Advance(TimeSpan.FromMilliseconds(2));
        await AnswerNextStatementAsync(["b"], [2]);
        Assert.Equal(2, await Within(read));
    }

    [Fact]
    public async Task Statements_that_never_end_hold_reads_back_only_until_they_count_as_abandoned()
    {
        for (var i = 0; i < StatementBatcher<string, int?>.MaximumInFlight; i++)
        {
            Assert.True(_batcher.TryGoAlone(out _));
            _time.Advance(TimeSpan.FromMilliseconds(2));
        }

        // Every lease is taken and none has ended: a read waits, however slow the others are...
        var held = Queue("a");
        Assert.False(held.IsCompleted);

        // ...until the oldest counts as abandoned. By then its caller has stopped waiting: it is failed, not sent.
        _time.Advance(AbandonAfter);
        await Assert.ThrowsAsync<TimeoutException>(() => Within(held));
        Assert.False(_statements.Reader.TryPeek(out _));

        // The abandoned leases are free again for the reads that follow.
        var next = Queue("c");
        await AnswerNextStatementAsync(["c"], [3]);
        Assert.Equal(3, await Within(next));
    }

    [Fact]
    public async Task A_request_is_failed_not_sent_once_its_caller_has_waited_past_the_timeout_counted_from_its_start()
    {
        // The caller started well before it queued (a write's clock check, a read before its touch).
        var startedAt = _time.GetTimestamp();
        _time.Advance(AbandonAfter - TimeSpan.FromMilliseconds(1));
        Assert.True(_batcher.TryGoAlone(out _));
        var late = Queue("a", startedAt);
        var fresh = Queue("b");

        // The statement ahead stalls; when the queue goes, the first caller has waited past the timeout, the second has not.
        _time.Advance(TimeSpan.FromMilliseconds(2));
        await Assert.ThrowsAsync<TimeoutException>(() => Within(late));
        await AnswerNextStatementAsync(["b"], [2]);
        Assert.Equal(2, await Within(fresh));
    }

    [Fact]
    public async Task A_request_whose_caller_cancelled_while_it_was_queued_is_cancelled_not_sent()
    {
        using var cancelled = new CancellationTokenSource();
        Assert.True(_batcher.TryGoAlone(out var lease));
        var gone = _batcher.GoTogetherAsync("a", _time.GetTimestamp(), cancelled.Token);
        var staying = Queue("b");

        // The caller leaves (a client that hung up) while the statement ahead still runs.
        await cancelled.CancelAsync();
        _batcher.Release(lease);

        Assert.Equal(cancelled.Token, (await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(gone))).CancellationToken);
        await AnswerNextStatementAsync(["b"], [2]);
        Assert.Equal(2, await Within(staying));
    }

    public void Dispose() => _batcher.Dispose();

    /// <summary>Queues a read of <paramref name="key"/> whose caller started waiting at <paramref name="startedAt"/> (now when not given).</summary>
    private Task<int?> Queue(string key, long? startedAt = null) =>
        _batcher.GoTogetherAsync(key, startedAt ?? _time.GetTimestamp(), TestContext.Current.CancellationToken);

    /// <summary>The task's result; fails the test, rather than hanging it, when the batcher never completes it.</summary>
    private static async Task<T> Within<T>(Task<T> task)
    {
        await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.True(task.IsCompleted, "The read was never completed.");
        return await task;
    }

    /// <summary>Waits for the next statement, checks that it carries <paramref name="keys"/>, and answers it with <paramref name="rows"/>.</summary>
    private async Task AnswerNextStatementAsync(string[] keys, int?[] rows)
    {
        var (sent, done) = await NextStatementAsync();
        Assert.Equal(keys, sent);
        done.SetResult(rows);
    }

    private async Task<(string[] Keys, TaskCompletionSource<int?[]> Done)> NextStatementAsync() =>
        await _statements.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
}
