namespace SessionStore.Dashboard;

/// <summary>The fleet table as the dashboard last read it.</summary>
/// <param name="ReadAt">When it was read; null before the first read.</param>
/// <param name="Instances">The instances, by name.</param>
/// <param name="Error">Why it could not be read (e.g. no fleet table yet), else null.</param>
internal sealed record FleetView(DateTimeOffset? ReadAt, IReadOnlyList<FleetRow> Instances, string? Error);
