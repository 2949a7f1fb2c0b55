namespace SessionStore.Internal;

/// <summary>
/// When a write may land, and with which version stamp. Copies between the stores are conditional so that a copy
/// made from an older read can never overwrite a newer write that raced it.
/// </summary>
/// <remarks>
/// Every stored entry carries a version. An ordinary write (<see cref="Always"/>) stores
/// max(stored version + 1, the store server's clock in microseconds), so a store restarted empty still issues
/// versions newer than any copy made before. A copy (<see cref="WhenAbsent"/>, <see cref="WhenUnchanged"/>)
/// only steps past the stored version, so it never outranks a later ordinary write elsewhere. A dual-write
/// secondary write (<see cref="WhenOlder"/>) stores the primary's version and lands only over an older one,
/// so the secondary ends with the primary's last write whatever order concurrent writes arrive in.
/// </remarks>
internal readonly record struct WriteCondition
{
    private WriteCondition(bool ifAbsent, byte[]? ifValue, long? ifOlderThan) => (IfAbsent, IfValue, IfOlderThan) = (ifAbsent, ifValue, ifOlderThan);

    /// <summary>Write whatever the store holds.</summary>
    public static WriteCondition Always => default;

    /// <summary>Write only where no live entry exists.</summary>
    public static WriteCondition WhenAbsent => new(true, null, null);

    /// <summary>Only when the key holds no live entry.</summary>
    public bool IfAbsent { get; }

    /// <summary>Only when the key's live entry holds exactly this value; null for no such condition.</summary>
    public byte[]? IfValue { get; }

    /// <summary>Only when the key holds no live entry or one with a smaller version, and then with this version; null for no such condition.</summary>
    public long? IfOlderThan { get; }

    /// <summary>Write only where the live entry still holds <paramref name="expected"/>.</summary>
    public static WriteCondition WhenUnchanged(byte[] expected) => new(false, expected, null);

    /// <summary>Write with <paramref name="version"/>, only where no live entry exists or the live one has a smaller version.</summary>
    public static WriteCondition WhenOlder(long version) => new(false, null, version);
}
