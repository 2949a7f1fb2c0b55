namespace SessionStore.Migration;

/// <summary>What a <see cref="SessionStoreVerifier"/> run compares.</summary>
public sealed class VerificationOptions
{
    /// <summary>How many sessions of the primary store, chosen at random, are compared with the secondary.</summary>
    /// <value>Default 1,000. Zero or more; ignored when <see cref="Full"/> is set.</value>
    public int SampleSize { get; set; } = 1_000;

    /// <summary>Whether to compare every session of the primary store instead of a sample.</summary>
    /// <value>Default false.</value>
    public bool Full { get; set; }
}
