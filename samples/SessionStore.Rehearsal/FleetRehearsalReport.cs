namespace SessionStore.Rehearsal;

/// <summary>The outcome of a fleet rehearsal.</summary>
/// <param name="Instances">Application instances in the fleet.</param>
/// <param name="SeededSessions">Sessions written through Microsoft's RedisCache before the migration started.</param>
/// <param name="Sessions">Every session the rehearsal followed, seeded and new.</param>
/// <param name="Stages">One report per stage, in order.</param>
/// <param name="Elapsed">How long it took, seeding included.</param>
public sealed record FleetRehearsalReport(int Instances, int SeededSessions, int Sessions, IReadOnlyList<FleetStageReport> Stages, TimeSpan Elapsed)
{
    /// <summary>Sessions lost, added over the stages.</summary>
    public int SessionsLost => Stages.Sum(stage => stage.SessionsLost);

    /// <summary>Requests that got no successful answer, over all stages.</summary>
    public int FailedRequests => Stages.Sum(stage => stage.FailedRequests);

    /// <summary>True when no session was lost and every request was answered.</summary>
    public bool Passed => SessionsLost == 0 && FailedRequests == 0;
}
