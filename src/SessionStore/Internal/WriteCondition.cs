namespace SessionStore.Internal;

/// <summary>
/// When a write may land. Copies between the stores are conditional so that a copy made from an older read can
/// never overwrite a newer write that raced it.
/// </summary>
internal readonly record struct WriteCondition
{
    private WriteCondition(bool ifAbsent, byte[]? ifValue) => (IfAbsent, IfValue) = (ifAbsent, ifValue);

    /// <summary>Write whatever the store holds.</summary>
    public static WriteCondition Always => default;

    /// <summary>Write only where no live entry exists.</summary>
    public static WriteCondition WhenAbsent => new(true, null);

    /// <summary>Only when the key holds no live entry.</summary>
    public bool IfAbsent { get; }

    /// <summary>Only when the key's live entry holds exactly this value; null for no such condition.</summary>
    public byte[]? IfValue { get; }

    /// <summary>Write only where the live entry still holds <paramref name="expected"/>.</summary>
    public static WriteCondition WhenUnchanged(byte[] expected) => new(false, expected);
}
