namespace SessionStore.DualWrite;

/// <summary>What a comparison of the two stores found different. In every case the primary's copy is then written to the secondary.</summary>
public enum SessionMismatchKind
{
    /// <summary>The primary has the entry and the secondary does not.</summary>
    MissingInSecondary,

    /// <summary>The values differ (sessions are compared by id and key-to-value map, not byte for byte).</summary>
    ValueDiffers,

    /// <summary>The remaining lifetimes differ by more than <see cref="SessionStoreOptions.ExpiryTolerance"/>.</summary>
    ExpiryDiffers,
}
