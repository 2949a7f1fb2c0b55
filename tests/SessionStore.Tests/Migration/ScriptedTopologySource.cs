using SessionStore.Internal;
using SessionStore.Migration.Internal;

namespace SessionStore.Tests.Migration;

/// <summary>
/// A copy source over a real one whose topology answers are scripted: call n (from 1) of
/// <see cref="ICopySource.TopologyAsync"/> returns <paramref name="topologyAt"/>(n), as a cluster resharding under
/// the copy would, at exact points of the run.
/// </summary>
internal sealed class ScriptedTopologySource(ICopySource inner, Func<int, SourceTopology> topologyAt) : ICopySource
{
    private int _calls;

    public int TopologyReads => _calls;

    public string Description => inner.Description;

    public Task<SourceTopology> TopologyAsync(CancellationToken cancellationToken) => Task.FromResult(topologyAt(Interlocked.Increment(ref _calls)));

    public Task<long> EstimateAsync(CancellationToken cancellationToken) => inner.EstimateAsync(cancellationToken);

    public IAsyncEnumerable<KeyPage> PagesAsync(string? position, int pageSize, CancellationToken cancellationToken) => inner.PagesAsync(position, pageSize, cancellationToken);

    public Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.ReadAsync(keys, cancellationToken);

    public Task<bool[]> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.HoldAsync(keys, cancellationToken);

    public Task<int> IndexUsersAsync(IReadOnlyList<string> keys, StoredEntry?[] entries) => inner.IndexUsersAsync(keys, entries);
}
