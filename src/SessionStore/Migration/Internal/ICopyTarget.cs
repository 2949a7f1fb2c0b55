using SessionStore.Internal;

namespace SessionStore.Migration.Internal;

/// <summary>The store a <see cref="SessionCopier"/> copies to, through the store's own conditional writes.</summary>
internal interface ICopyTarget
{
    /// <summary>Names the store in messages and checkpoints (never a key).</summary>
    string Description { get; }

    /// <summary>The longest key the store accepts.</summary>
    int MaximumKeyLength { get; }

    /// <summary>Fails with what to run when the store cannot take copies yet (a missing table).</summary>
    Task EnsureReadyAsync(CancellationToken cancellationToken);

    /// <summary>The live entries of <paramref name="keys"/>, in their order; null where there is none. Never extends an expiry.</summary>
    Task<StoredEntry?[]> ReadAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>
    /// Writes each copy if its condition holds; marks those the store refused as <see cref="SessionCopy.Failed"/>.
    /// Returns the copies that landed, each with what <see cref="TakeBackAsync"/> needs to undo exactly that write.
    /// </summary>
    Task<List<LandedCopy>> WriteAsync(IReadOnlyList<SessionCopy> copies);

    /// <summary>Deletes each landed copy, unless a later write replaced it.</summary>
    Task TakeBackAsync(IReadOnlyList<LandedCopy> copies);

    /// <summary>
    /// Brings the store's own per-user index up to date for sessions it already held the same as the source, where
    /// it records a user beside the value: a copy made without the application's UserIdSessionKey (or with another)
    /// recorded none, or the wrong one. Nothing else of the entry changes. Returns how many it corrected.
    /// </summary>
    Task<int> IndexUsersAsync(IReadOnlyList<SessionCopy> held) => Task.FromResult(0);

    /// <summary>
    /// Cuts each landed copy to the time its source had left when read, unless a later write replaced it: neither store
    /// can be written "sliding 20 minutes, 5 left", so a copy lands with a fresh window.
    /// </summary>
    Task KeepTimeLeftAsync(IReadOnlyList<LandedCopy> copies);
}

/// <summary>A copy to write: the source's entry, on a condition that keeps a newer copy safe.</summary>
internal sealed record SessionCopy(string Key, StoredEntry Entry, WriteCondition Condition)
{
    public bool Failed { get; set; }
}

/// <summary>A copy that landed; <paramref name="Write"/> identifies that one write (a row version, or the value written).</summary>
internal sealed record LandedCopy(SessionCopy Copy, object Write);
