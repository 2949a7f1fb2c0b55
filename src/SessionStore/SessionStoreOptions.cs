using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using SessionStore.Cleanup;
using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Redis;

namespace SessionStore;

/// <summary>
/// The configuration section <c>SessionStore</c>: the migration phase, both stores and the dual-write behaviour.
/// <see cref="Phase"/> and the dual-write tuning are read live, except the circuit breaker settings and
/// <see cref="CatchUpCapacity"/>; a store is built again when its connection settings change.
/// </summary>
public sealed class SessionStoreOptions
{
    /// <summary>The configuration section these options are usually bound from.</summary>
    public const string SectionName = "SessionStore";

    // docs/cli.md: applications bind SessionStore:Fleet to SessionStoreFleetOptions themselves.
    private static readonly Dictionary<string, Type> SubsectionsBoundElsewhere = new() { ["Fleet"] = typeof(Fleet.SessionStoreFleetOptions) };

    /// <summary>
    /// The migration phase. Read on every request: a change in appsettings (with reload on change) or any
    /// configuration provider takes effect on the next request. A value that names no phase stops start-up;
    /// at run time it is logged and ignored.
    /// </summary>
    /// <value>Required. See <see cref="SessionStorePhase"/> for the accepted spellings.</value>
    public SessionStorePhase Phase { get; set; }

    /// <summary>The PostgreSQL store (section <c>SessionStore:Postgres</c>).</summary>
    public PostgresSessionCacheOptions Postgres { get; } = new();

    /// <summary>The Redis store (section <c>SessionStore:Redis</c>).</summary>
    public RedisSessionCacheOptions Redis { get; } = new();

    /// <summary>
    /// The cleanup of expired PostgreSQL rows (section <c>SessionStore:Cleanup</c>). It runs only in the phases that
    /// write PostgreSQL; <see cref="PostgresCleanupOptions.Enabled"/> turns it off altogether.
    /// </summary>
    public PostgresCleanupOptions Cleanup { get; } = new();

    /// <summary>
    /// The session key naming the signed-in user, for "log out everywhere"; applied to both stores unless a
    /// store sets its own.
    /// </summary>
    /// <value>Default null.</value>
    public string? UserIdSessionKey { get; set; }

    /// <summary>
    /// How long any operation on the secondary store (a write, read-repair's read, a comparison, a catch-up copy,
    /// the idle store's revoke) may take before it is abandoned and counted as failed.
    /// </summary>
    /// <value>Default 2 seconds. From 10 ms to 1 minute.</value>
    public TimeSpan SecondaryTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The fraction of a store's calls within <see cref="BreakerSamplingDuration"/> that must fail or time out for
    /// its circuit breaker to open. Read at start-up.
    /// </summary>
    /// <value>Default 0.5. More than 0, at most 1.</value>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>How many calls a store must have had within <see cref="BreakerSamplingDuration"/> before its breaker may open. Read at start-up.</summary>
    /// <value>Default 5. At least 2.</value>
    public int BreakerMinimumThroughput { get; set; } = 5;

    /// <summary>The window over which a store's failure ratio is measured. Read at start-up.</summary>
    /// <value>Default 1 second. From 500 ms to 1 minute.</value>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an open breaker refuses calls before it lets one through as a probe; the probe's success closes
    /// it, and the keys the store missed meanwhile are copied to it. Read at start-up.
    /// </summary>
    /// <value>Default 2 seconds. From 500 ms to 5 minutes.</value>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How many keys a store may miss writes for (while it is down or its breaker is open) and still be caught up
    /// automatically; beyond this they are counted (<see cref="SessionStoreMetrics.CatchUpOverflow"/>) and
    /// <c>sessionstore sync</c> has to copy them. As many users' revokes a store missed are made by the catch-up too;
    /// beyond this the revoke fails, to be run again. It also bounds how many sessions' timed-out primary writes are
    /// remembered (a digest each), so that one landing late is not taken for the newest. About 100 bytes per key, and
    /// as much again per remembered write. Read at start-up.
    /// </summary>
    /// <value>Default 100,000. From 0 to 10,000,000.</value>
    public int CatchUpCapacity { get; set; } = 100_000;

    /// <summary>How long the health check waits for each store before it reports it as not answering.</summary>
    /// <value>Default 5 seconds. From 10 ms to 1 minute.</value>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The level at which a failure of the secondary store is logged: expected while it is down, so it is yours to choose.</summary>
    /// <value>Default <see cref="LogLevel.Warning"/>.</value>
    public LogLevel SecondaryFailureLogLevel { get; set; } = LogLevel.Warning;

    /// <summary>The fraction of primary hits compared with the secondary in the background during a dual phase.</summary>
    /// <value>Default 0.01. From 0 (never) to 1 (every read).</value>
    public double ComparisonSampleRate { get; set; } = 0.01;

    /// <summary>
    /// How far the two stores' remaining lifetimes of one entry may differ before it counts as a mismatch. Each
    /// store extends a sliding expiry lazily, so some difference is normal.
    /// </summary>
    /// <value>Default 5 minutes. Zero or more.</value>
    public TimeSpan ExpiryTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether, in a dual phase, a read that fails on the primary is answered from the secondary instead of
    /// failing the request.
    /// </summary>
    /// <value>Default false.</value>
    public bool FailoverReadsToSecondary { get; set; }

    /// <summary>
    /// Called, off the request path, for each confirmed difference between the stores. It receives the kind, the
    /// phase and a hash of the key — never the key or the values.
    /// </summary>
    /// <value>Default null.</value>
    public Action<SessionMismatch>? OnMismatch { get; set; }

    /// <summary>
    /// Why configuration could not be bound to these options (a value the binder cannot convert, such as <c>"2s"</c>
    /// for a <see cref="TimeSpan"/>), naming the key and the value; null when it was bound whole.
    /// </summary>
    internal string? BindingFailure { get; private set; }

    /// <summary>
    /// Binds <paramref name="section"/> without throwing: a bad value, or a key that would bind to nothing (a
    /// misspelt setting would leave its default in force unseen), must not throw inside a configuration reload,
    /// which the options monitor (and a file watcher's thread) would not survive. The failure is kept instead, on
    /// these options and their <see cref="Cleanup"/> (bound in part, they are not to be used), and reported by
    /// <see cref="Validate"/>: start-up fails with it, and a reload is refused with it, the last valid options
    /// (and phase) staying in force.
    /// </summary>
    internal void BindFrom(IConfiguration section)
    {
        var path = section is IConfigurationSection { Path.Length: > 0 } named ? named.Path : SectionName;
        // A value where the section belongs ("SessionStore": "…") binds to nothing: a tool's flags would run without it, unseen.
        BindingFailure = section is IConfigurationSection { Value.Length: > 0 }
            ? ConfigurationShape.SectionGivenValue(path, typeof(SessionStoreOptions))
            : ConfigurationShape.FindUnboundKey(section, typeof(SessionStoreOptions), path, SubsectionsBoundElsewhere);
        if (BindingFailure is null)
        {
            try
            {
                section.Bind(this);
            }
            catch (InvalidOperationException e)
            {
                BindingFailure = $"{SectionName}: {e.Message}";
            }
        }

        Cleanup.BindingFailure = BindingFailure;
    }

    /// <summary>Lists every invalid setting for the configured phase; empty when the options can be used.</summary>
    /// <returns>One message per invalid setting, naming its configuration key and what is allowed.</returns>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (BindingFailure is not null)
        {
            // Bound in part: the settings after the bad one hold their defaults, so nothing else is judged.
            failures.Add(BindingFailure);
            return failures;
        }

        if (Phase == SessionStorePhase.Unspecified)
        {
            failures.Add(NoPhase(configuredValue: null));
        }
        else if (!Enum.IsDefined(Phase))
        {
            // Only code can set a number no phase has: configuration goes through SessionStorePhaseConverter.
            failures.Add(NoPhase(((int)Phase).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        else
        {
            failures.AddRange(StoreFailures(Phase));
        }

        if (UserIdSessionKeyFailure() is { } userIdKeyFailure)
        {
            failures.Add(userIdKeyFailure);
        }

        failures.AddRange(TuningFailures());
        return failures;
    }

    /// <summary>
    /// The invalid dual-write settings (timeouts, breaker, comparisons): the part of <see cref="Validate"/> that a
    /// live reload can break, checked on every read so that a bad reload keeps the last valid values in force.
    /// </summary>
    internal List<string> TuningFailures()
    {
        var failures = new List<string>();
        if (BindingFailure is not null)
        {
            failures.Add(BindingFailure);
            return failures;
        }

        CheckRange(failures, nameof(SecondaryTimeout), SecondaryTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        CheckRange(failures, nameof(BreakerSamplingDuration), BreakerSamplingDuration, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(1));
        CheckRange(failures, nameof(BreakDuration), BreakDuration, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(5));
        CheckRange(failures, nameof(HealthCheckTimeout), HealthCheckTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
        if (!(BreakerFailureRatio is > 0 and <= 1))
        {
            failures.Add($"{SectionName}:{nameof(BreakerFailureRatio)} is {BreakerFailureRatio}; it must be more than 0 and at most 1.");
        }

        if (BreakerMinimumThroughput < 2)
        {
            failures.Add($"{SectionName}:{nameof(BreakerMinimumThroughput)} is {BreakerMinimumThroughput}; it must be at least 2.");
        }

        if (CatchUpCapacity is < 0 or > 10_000_000)
        {
            failures.Add($"{SectionName}:{nameof(CatchUpCapacity)} is {CatchUpCapacity}; it must be between 0 and 10000000.");
        }

        if (!(ComparisonSampleRate is >= 0 and <= 1))
        {
            failures.Add($"{SectionName}:{nameof(ComparisonSampleRate)} is {ComparisonSampleRate}; it must be between 0 and 1.");
        }

        if (ExpiryTolerance < TimeSpan.Zero)
        {
            failures.Add($"{SectionName}:{nameof(ExpiryTolerance)} is {ExpiryTolerance}; it must not be negative.");
        }

        if (!Enum.IsDefined(SecondaryFailureLogLevel))
        {
            failures.Add($"{SectionName}:{nameof(SecondaryFailureLogLevel)} is {(int)SecondaryFailureLogLevel}; allowed: {string.Join(", ", Enum.GetNames<LogLevel>())}.");
        }

        return failures;
    }

    private static void CheckRange(List<string> failures, string name, TimeSpan value, TimeSpan minimum, TimeSpan maximum)
    {
        if (value < minimum || value > maximum)
        {
            failures.Add($"{SectionName}:{name} is {value}; it must be between {Format(minimum)} and {Format(maximum)}.");
        }
    }

    private static string Format(TimeSpan value) =>
        value.ToString(value.Milliseconds == 0 ? @"hh\:mm\:ss" : @"hh\:mm\:ss\.fff", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Why the shared <see cref="UserIdSessionKey"/> cannot be used (empty or blank), or null. Reported under its own key:
    /// it is not given to the stores (see <see cref="ApplyUserIdSessionKey"/>), which would then record no user.
    /// </summary>
    internal string? UserIdSessionKeyFailure() =>
        SessionCacheProviderOptions.Unusable(UserIdSessionKey) is { } what
            ? $"{SectionName}:{nameof(UserIdSessionKey)} is {what}; leave it out to record no user, or name the session key that holds the user id."
            : null;

    /// <summary>Gives each store the shared <see cref="UserIdSessionKey"/> unless it sets its own.</summary>
    internal void ApplyUserIdSessionKey()
    {
        // A blank key is not passed on: each store would report it under its own section, a key nobody set.
        if (!string.IsNullOrWhiteSpace(UserIdSessionKey))
        {
            Postgres.UserIdSessionKey ??= UserIdSessionKey;
            Redis.UserIdSessionKey ??= UserIdSessionKey;
        }
    }

    /// <summary>The failure of a phase setting that names no phase, quoting the configured value when it is known.</summary>
    internal static string NoPhase(string? configuredValue) =>
        (configuredValue is null ? $"{SectionName}:{nameof(Phase)} names no phase" : $"{SectionName}:{nameof(Phase)} is '{configuredValue}', which names no phase")
        + $"; valid phases: {SessionStorePhaseConverter.ValidValues}.";

    /// <summary>What keeps the stores that <paramref name="phase"/> uses from being built.</summary>
    internal IEnumerable<string> StoreFailures(SessionStorePhase phase)
    {
        var (usesPostgres, usesRedis) = PhaseRoles.StoresOf(phase);
        if (usesPostgres)
        {
            foreach (var failure in Postgres.Validate())
            {
                yield return $"{SectionName}:{nameof(Postgres)}: {failure} (phase {phase} uses PostgreSQL{SetHint(Postgres.NamesConnection, nameof(Postgres), nameof(PostgresSessionCacheOptions.ConnectionString))}.)";
            }

            foreach (var failure in Cleanup.Validate())
            {
                yield return $"{SectionName}:{nameof(Cleanup)}: {failure}";
            }
        }

        if (usesRedis)
        {
            foreach (var failure in Redis.Validate())
            {
                yield return $"{SectionName}:{nameof(Redis)}: {failure} (phase {phase} uses Redis{SetHint(Redis.NamesConnection, nameof(Redis), nameof(RedisSessionCacheOptions.Configuration))}.)";
            }
        }
    }

    // Pointing at the connection setting helps only when none is set: beside an invalid timeout it misleads.
    private static string SetHint(bool namesConnection, string store, string key) =>
        namesConnection ? "" : $"; set {SectionName}:{store}:{key}";
}
