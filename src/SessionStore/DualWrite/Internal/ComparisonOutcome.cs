namespace SessionStore.DualWrite.Internal;

/// <summary>How a sampled comparison of a session's two copies ended, when both stores answered.</summary>
internal enum ComparisonOutcome
{
    /// <summary>The copies were equal, or came to be within <see cref="SessionStoreOptions.SecondaryTimeout"/>.</summary>
    Equal,

    /// <summary>A difference outlasted <see cref="SessionStoreOptions.SecondaryTimeout"/> with neither copy written: reported and repaired.</summary>
    Mismatch,

    /// <summary>A copy was written during the comparison, so no verdict: the session's own writes carry it to both stores.</summary>
    InFlux,
}
