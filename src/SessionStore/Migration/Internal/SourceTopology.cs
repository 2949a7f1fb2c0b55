namespace SessionStore.Migration.Internal;

/// <summary>
/// Where a source's entries live, read at one moment: on a Redis Cluster, which node serves which slots, each
/// node's role and config epoch, and any slot still being migrated. A single server or a table never moves its
/// entries, so its listing is complete when it reaches the end; a cluster's listing is complete only when the
/// topology was settled and the same when the listing started and when it ended, because SCAN runs node by node
/// and a key that moves to a node already scanned is never listed.
/// </summary>
/// <param name="Fingerprint">Compared between reads; names nodes and slots, never a key.</param>
/// <param name="Settled">No slot half-migrated and every slot-serving primary reached.</param>
/// <param name="CanChange">False for a source whose entries cannot move while it is listed.</param>
internal sealed record SourceTopology(string Fingerprint, bool Settled, bool CanChange)
{
    public static SourceTopology Fixed { get; } = new("fixed", Settled: true, CanChange: false);

    /// <summary>Whether a listing that started on <paramref name="start"/> and ended on this topology saw every entry.</summary>
    public bool UnchangedSince(string? start) => !CanChange || (Settled && start == Fingerprint);
}
