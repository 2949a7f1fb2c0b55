using System.Collections.Concurrent;

namespace SessionStore.Tests.Chaos;

/// <summary>Every request of a run, for latency figures over a window.</summary>
public sealed class Traffic
{
    private readonly ConcurrentBag<Visit> _visits = [];

    /// <summary>The distinct errors the browsers saw.</summary>
    public ConcurrentDictionary<string, byte> Errors { get; } = new();

    public IReadOnlyCollection<Visit> Visits => _visits;

    public void Add(Visit visit) => _visits.Add(visit);

    public IEnumerable<Visit> Between(long from, long to) => _visits.Where(v => v.Started >= from && v.Started < to);

    public static TimeSpan Percentile(IEnumerable<Visit> visits, double percentile)
    {
        var sorted = visits.Select(v => v.Latency).Order().ToList();
        return sorted.Count == 0 ? TimeSpan.Zero : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile * sorted.Count) - 1)];
    }
}
