using System.Collections.Concurrent;
using System.Diagnostics;

namespace SessionStore.Tests.Diagnostics;

/// <summary>
/// Records the finished activities of one test's trace: the test starts a root activity, and only activities
/// sharing its trace id are kept, so other tests running meanwhile do not leak in.
/// </summary>
public sealed class TraceRecorder : IDisposable
{
    public const string TestSourceName = "SessionStore.Tests.Tracing";

    private static readonly ActivitySource TestSource = new(TestSourceName);
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;
    private readonly Activity _root;

    public TraceRecorder(params string[] sources)
    {
        var listened = new HashSet<string>(sources) { TestSourceName };
        _listener = new ActivityListener
        {
            ShouldListenTo = source => listened.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => _stopped.Enqueue(activity),
        };
        ActivitySource.AddActivityListener(_listener);
        _root = TestSource.StartActivity("test")!;
    }

    /// <summary>The finished activities of this test's trace, root excluded.</summary>
    public IReadOnlyList<Activity> Activities =>
        [.. _stopped.Where(a => a.TraceId == _root.TraceId && a != _root)];

    public IReadOnlyList<Activity> FromSource(string source) => [.. Activities.Where(a => a.Source.Name == source)];

    public IReadOnlyList<Activity> ChildrenOf(Activity parent) => [.. Activities.Where(a => a.ParentSpanId == parent.SpanId)];

    /// <summary>Every tag and event tag value of the trace, as text.</summary>
    public IEnumerable<string> AllTagValues() =>
        Activities.SelectMany(a => a.TagObjects.Select(t => t.Value)
            .Concat(a.Events.SelectMany(e => e.Tags.Select(t => t.Value)))
            .Append(a.DisplayName)
            .Append(a.StatusDescription))
        .Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);

    public void Dispose()
    {
        _root.Dispose();
        _listener.Dispose();
    }
}
