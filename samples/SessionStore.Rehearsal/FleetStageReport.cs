namespace SessionStore.Rehearsal;

/// <summary>What one stage of the fleet rehearsal did: the fleet as its own table showed it, and the traffic it carried.</summary>
/// <param name="Stage">The stage's number, from 0 (the whole fleet in <see cref="SessionStorePhase.RedisOnly"/> before any switch).</param>
/// <param name="Step">The step of <see cref="MigrationRehearsal.Route"/> being rolled out, from 1; 0 for the first stage.</param>
/// <param name="From">The phase the instances leave in this step.</param>
/// <param name="To">The phase they enter.</param>
/// <param name="Switched">The instance switched at the start of this stage; null for the first stage.</param>
/// <param name="FleetView">Each instance and its phase, as <c>SessionStoreFleet.ReadAsync</c> (and <c>sessionstore status</c>) reported them once the switch was seen there.</param>
/// <param name="Requests">Session requests sent, each to an instance picked at random.</param>
/// <param name="FailedRequests">Requests that got no successful answer.</param>
/// <param name="SessionsLost">Sessions found without the values the rehearsal had put in them.</param>
/// <param name="Mismatches">Differences between the stores the instances' comparisons confirmed (and repaired).</param>
/// <param name="ReadRepairs">Entries the instances copied from one store to the other.</param>
public sealed record FleetStageReport(
    int Stage,
    int Step,
    SessionStorePhase From,
    SessionStorePhase To,
    string? Switched,
    IReadOnlyList<(string Instance, SessionStorePhase Phase)> FleetView,
    int Requests,
    int FailedRequests,
    int SessionsLost,
    long Mismatches,
    long ReadRepairs)
{
    /// <summary>Whether the instances ran more than one phase during this stage.</summary>
    public bool Mixed => FleetView.Select(i => i.Phase).Distinct().Count() > 1;
}
