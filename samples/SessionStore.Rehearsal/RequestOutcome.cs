namespace SessionStore.Rehearsal;

/// <summary>What became of one simulated request.</summary>
internal enum RequestOutcome
{
    /// <summary>Answered with the page the session should show.</summary>
    Kept,

    /// <summary>Answered, but the session no longer held what was put in it.</summary>
    Lost,

    /// <summary>No successful answer.</summary>
    Failed,
}
