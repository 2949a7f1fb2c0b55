using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SessionStore.Cleanup;
using SessionStore.Postgres;
using SessionStore.Redis;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>
/// Which options apply live and which only at start-up, in one place, and the monitors that enforce it: a bad
/// live value is refused and logged, a changed start-up value is logged as needing a restart.
/// </summary>
internal static class LiveOptions
{
    /// <summary>
    /// The keys of <c>SessionStore</c> that are read once, when a store is built (docs/security.md has the table).
    /// A store's connection settings (connection string, schema, table, payload format; Redis configuration and
    /// instance name) are not among them: a change to those builds the store again (see <c>RebuildableStore</c>).
    /// </summary>
    public static readonly IReadOnlyList<(string Key, Func<SessionStoreOptions, object?> Read)> SessionStoreStartupOnlyKeys =
    [
        Key("Postgres:CreateTableIfMissing", o => o.Postgres.CreateTableIfMissing),
        Key("Postgres:Partitioning:Interval", o => o.Postgres.Partitioning?.Interval),
        Key("Postgres:Partitioning:Horizon", o => o.Postgres.Partitioning?.Horizon),
        Key("Postgres:TouchThreshold", o => o.Postgres.TouchThreshold),
        Key("Postgres:MaximumValueSize", o => o.Postgres.MaximumValueSize),
        Key("Postgres:UserIdSessionKey", o => o.Postgres.UserIdSessionKey),
        Key("Redis:TouchThreshold", o => o.Redis.TouchThreshold),
        Key("Redis:MaximumValueSize", o => o.Redis.MaximumValueSize),
        Key("Redis:UserIdSessionKey", o => o.Redis.UserIdSessionKey),
        Key("Redis:UseScripts", o => o.Redis.UseScripts),
        Key("Postgres:OperationTimeout", o => o.Postgres.OperationTimeout),
        Key("Redis:OperationTimeout", o => o.Redis.OperationTimeout),
        Key("UserIdSessionKey", o => o.UserIdSessionKey),
        Key("BreakerFailureRatio", o => o.BreakerFailureRatio),
        Key("BreakerMinimumThroughput", o => o.BreakerMinimumThroughput),
        Key("BreakerSamplingDuration", o => o.BreakerSamplingDuration),
        Key("BreakDuration", o => o.BreakDuration),
        Key("CatchUpCapacity", o => o.CatchUpCapacity),
    ];

    /// <summary><c>SessionStore:Cleanup</c> as options of their own, read live, never invalid (the defaults until a valid value is seen).</summary>
    public static IOptionsMonitor<PostgresCleanupOptions> CleanupOf(IOptionsMonitor<SessionStoreOptions> options, ILoggerFactory? loggers) =>
        new LastValidOptionsMonitor<PostgresCleanupOptions>(
            new ProjectedOptionsMonitor<SessionStoreOptions, PostgresCleanupOptions>(options, o => o.Cleanup),
            o => o.Validate(),
            $"{SessionStoreOptions.SectionName}:{nameof(SessionStoreOptions.Cleanup)}",
            (loggers ?? NullLoggerFactory.Instance).CreateLogger<PostgresCleanupOptions>(),
            fallback: () => new PostgresCleanupOptions(),
            // A section that could not be bound is refused by the dual-write cache's monitor too, which logs it.
            reportedElsewhere: o => o.BindingFailure is not null);

    /// <summary>Registers the warning logged when a reload changes a start-up-only key of <c>SessionStore</c>.</summary>
    public static void AddRestartWarnings(IServiceCollection services) =>
        services.AddSingleton<IHostedService>(provider => new RestartRequiredMonitor<SessionStoreOptions>(
            provider.GetRequiredService<IOptionsMonitor<SessionStoreOptions>>(),
            SessionStoreStartupOnlyKeys,
            // What start-up would refuse in the stores of the configured phase; the live settings' own monitor
            // reports the rest (4012), and an invalid phase is refused on its own (3006).
            o => Enum.IsDefined(o.Phase) ? o.StoreFailures(o.Phase) : [],
            SessionStoreOptions.SectionName,
            (provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger<SessionStoreOptions>()));

    private static (string Key, Func<SessionStoreOptions, object?> Read) Key(string key, Func<SessionStoreOptions, object?> read) =>
        ($"{SessionStoreOptions.SectionName}:{key}", read);
}
