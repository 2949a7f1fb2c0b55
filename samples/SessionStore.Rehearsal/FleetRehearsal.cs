using System.Diagnostics;
using Microsoft.AspNetCore.DataProtection;
using Npgsql;
using SessionStore.Fleet;
using SessionStore.Postgres;

namespace SessionStore.Rehearsal;

/// <summary>
/// Rehearses a migration the way a fleet is deployed: several instances of the sample, each in a host of its own, on
/// the same PostgreSQL and Redis, behind a "load balancer" without affinity (every request goes to an instance
/// picked at random). Each step of <see cref="MigrationRehearsal.Route"/> is rolled out one instance at a time, so
/// that two adjacent phases run side by side for a while, and traffic runs after every single switch. After every
/// request the session must still hold what was put in it.
/// </summary>
/// <param name="options">The servers and the size of the rehearsal; each stage gets <see cref="RehearsalOptions.NewSessionsPerPhase"/> sign-ins and <see cref="RehearsalOptions.RoundsPerPhase"/> rounds.</param>
/// <param name="instances">How many application instances; at least 2.</param>
/// <param name="monitor">Told about progress; null for none.</param>
public sealed class FleetRehearsal(RehearsalOptions options, int instances, IRehearsalMonitor? monitor = null)
{
    // The shortest heartbeat the fleet options allow: the fleet view follows each switch within about a second.
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FleetViewTimeout = TimeSpan.FromSeconds(15);

    private readonly IRehearsalMonitor _monitor = monitor ?? IRehearsalMonitor.None;

    /// <summary>Runs the rehearsal.</summary>
    /// <param name="cancellationToken">Stops it.</param>
    /// <returns>What each stage did, with the fleet view captured in it.</returns>
    public async Task<FleetRehearsalReport> RunAsync(CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (instances < 2)
        {
            throw new InvalidOperationException($"A fleet rehearsal needs at least 2 instances, not {instances}: a rolling switch needs one instance ahead of another.");
        }

        var started = Stopwatch.GetTimestamp();
        var settings = MigrationRehearsal.SampleSettings(options);
        var dataProtection = new EphemeralDataProtectionProvider();
        var fleet = new List<FleetMember>();
        try
        {
            // As before a real deploy: the table (and its fleet table) exist before the first instance starts.
            await MigrateAsync(cancellationToken);
            for (var i = 1; i <= instances; i++)
            {
                fleet.Add(await FleetMember.StartAsync($"web-{i}", MigrationRehearsal.Route[0], settings, dataProtection, HeartbeatInterval, cancellationToken));
            }

            var instanceName = settings.GetValueOrDefault($"{SessionStoreOptions.SectionName}:Redis:InstanceName") ?? "sample:";
            using var http = SessionTraffic.CreateClient(options);
            var seeded = await SessionTraffic.SeedAsync(options, http, instanceName, dataProtection, _monitor, cancellationToken);
            var sessions = new List<SimulatedSession>(seeded);
            var stages = new List<FleetStageReport>
            {
                await RunStageAsync(http, fleet, sessions, 0, 0, MigrationRehearsal.Route[0], MigrationRehearsal.Route[0], null, cancellationToken),
            };

            for (var step = 1; step < MigrationRehearsal.Route.Count; step++)
            {
                var (from, to) = (MigrationRehearsal.Route[step - 1], MigrationRehearsal.Route[step]);
                foreach (var member in fleet)
                {
                    member.Enter(to);
                    stages.Add(await RunStageAsync(http, fleet, sessions, stages.Count, step, from, to, member.Name, cancellationToken));
                }
            }

            return new FleetRehearsalReport(instances, seeded.Count, sessions.Count, stages, Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            foreach (var member in fleet)
            {
                await member.DisposeAsync();
            }
        }
    }

    private async Task<FleetStageReport> RunStageAsync(
        HttpClient http, List<FleetMember> fleet, List<SimulatedSession> sessions, int stage, int step, SessionStorePhase from, SessionStorePhase to, string? switched, CancellationToken cancellationToken)
    {
        var view = await AwaitFleetViewAsync(fleet, cancellationToken);
        var phases = fleet.Select(member => member.Cache.Phase).Distinct().ToList();

        // Sessions that change in PostgresOnly only do so while the whole fleet runs it (see SimulatedSession.Next).
        var fleetPhase = phases.Count == 1 ? phases[0] : SessionStorePhase.Unspecified;
        var before = fleet.Select(member => member.Cache.GetStatistics()).ToList();
        var description = switched is null
            ? $"stage {stage}: fleet in {from}"
            : $"stage {stage}: {switched} {from} → {to}";

        // No affinity: a session's next request may land on any instance, in any of the phases running.
        var (requests, failed, lost) = await PhaseTraffic.RunAsync(
            options, http, () => fleet[Random.Shared.Next(fleet.Count)].Address, sessions, fleetPhase, stage, description, _monitor, cancellationToken);

        // The instances' comparisons run after the responses; their repairs land before the next switch.
        await PhaseTraffic.WaitForComparisonsAsync(options, fleet.Select(member => member.Cache).ToList(), cancellationToken);
        var after = fleet.Select(member => member.Cache.GetStatistics()).ToList();
        return new FleetStageReport(
            stage,
            step,
            from,
            to,
            switched,
            view,
            requests,
            failed,
            lost,
            after.Zip(before).Sum(pair => pair.First.Mismatches.Values.Sum() - pair.Second.Mismatches.Values.Sum()),
            after.Zip(before).Sum(pair => pair.First.ReadRepairs - pair.Second.ReadRepairs));
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(options.PostgresConnectionString!);
        await new PostgresSchemaMigrator(dataSource, PostgresOptions()).MigrateAsync(cancellationToken);
    }

    private PostgresSessionCacheOptions PostgresOptions()
    {
        var postgres = new PostgresSessionCacheOptions { ConnectionString = options.PostgresConnectionString };
        if (options.TableName is { } table)
        {
            postgres.TableName = table;
        }

        return postgres;
    }

    /// <summary>
    /// Reads the fleet table until it shows every instance in the phase it runs: what an operator watching
    /// <c>sessionstore status</c> during the deploy sees, mixed phases included.
    /// </summary>
    private async Task<IReadOnlyList<(string Instance, SessionStorePhase Phase)>> AwaitFleetViewAsync(List<FleetMember> fleet, CancellationToken cancellationToken)
    {
        var postgres = PostgresOptions();
        var expected = fleet.Select(member => (member.Name, member.Cache.Phase)).OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
        var deadline = Stopwatch.GetTimestamp() + (long)(FleetViewTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var seen = (await SessionStoreFleet.ReadAsync(postgres, HeartbeatInterval * 5, cancellationToken))
                .Where(i => !i.IsStale)
                .Select(i => (i.InstanceId, i.Phase))
                .OrderBy(i => i.InstanceId, StringComparer.Ordinal)
                .ToList();
            if (seen.SequenceEqual(expected))
            {
                return seen;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException(
                    $"The fleet table still shows [{string.Join(", ", seen)}] after {FleetViewTimeout.TotalSeconds:N0} s; the instances run [{string.Join(", ", expected)}].");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }
}
