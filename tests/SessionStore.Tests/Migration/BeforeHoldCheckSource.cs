using SessionStore.Internal;
using SessionStore.Migration.Internal;

namespace SessionStore.Tests.Migration;

/// <summary>
/// A copy source that runs <paramref name="beforeHoldCheck"/> with the keys just copied, before the copier asks the
/// source whether it still holds them: the window in which a logout makes a copy a resurrection.
/// </summary>
internal sealed class BeforeHoldCheckSource(ICopySource inner, Func<IReadOnlyList<string>, Task> beforeHoldCheck) : ICopySource
{
    public string Description => inner.Description;

    public Task<SourceTopology> TopologyAsync(CancellationToken cancellationToken) => inner.TopologyAsync(cancellationToken);

    public Task<long> EstimateAsync(CancellationToken cancellationToken) => inner.EstimateAsync(cancellationToken);

    public IAsyncEnumerable<KeyPage> PagesAsync(string? position, int pageSize, CancellationToken cancellationToken) => inner.PagesAsync(position, pageSize, cancellationToken);

    public Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => inner.ReadAsync(keys, cancellationToken);

    public async Task<bool[]> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        await beforeHoldCheck(keys);
        return await inner.HoldAsync(keys, cancellationToken);
    }

    public Task<int> IndexUsersAsync(IReadOnlyList<string> keys, StoredEntry?[] entries) => inner.IndexUsersAsync(keys, entries);
}
