using SessionStore.Internal;

namespace SessionStore.Migration.Internal;

/// <summary>The store a <see cref="SessionCopier"/> copies from: listed in resumable pages, read without touching.</summary>
internal interface ICopySource
{
    /// <summary>Names the store in messages and checkpoints (never a key).</summary>
    string Description { get; }

    /// <summary>
    /// Where the entries live now. A listing is complete only if the topology read before it and after it are the
    /// same (see <see cref="SourceTopology"/>); a source whose entries cannot move answers <see cref="SourceTopology.Fixed"/>.
    /// </summary>
    Task<SourceTopology> TopologyAsync(CancellationToken cancellationToken) => Task.FromResult(SourceTopology.Fixed);

    /// <summary>Whether <paramref name="position"/>, read from a checkpoint, is one <see cref="PagesAsync"/> can resume from.</summary>
    bool CanResumeFrom(string position) => true;

    /// <summary>Fails, saying what to do, when the store cannot be read as a source (a table of another shape).</summary>
    Task EnsureReadyAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>An upper bound on the entries to list, for a progress estimate.</summary>
    Task<long> EstimateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The keys in pages, starting after <paramref name="position"/> (null: from the beginning). Each page carries the
    /// position to resume from once it has been copied; a position never holds a whole key.
    /// </summary>
    IAsyncEnumerable<KeyPage> PagesAsync(string? position, int pageSize, CancellationToken cancellationToken);

    /// <summary>The live entries of <paramref name="keys"/>, in their order; null where there is none. Never extends an expiry.</summary>
    Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>Which of <paramref name="keys"/> the store still holds live, read now.</summary>
    Task<bool[]> HoldAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>
    /// Brings the store's own per-user index up to date for entries just read, where it keeps one. Returns how many
    /// entries it found recorded under another user than their value names, and corrected (0 where it cannot tell).
    /// </summary>
    Task<int> IndexUsersAsync(IReadOnlyList<string> keys, StoredEntry?[] entries);
}

/// <summary>One page of keys, and where to resume once it is copied.</summary>
internal sealed record KeyPage(IReadOnlyList<string> Keys, string Position);
