using SessionStore.Postgres;
using SessionStore.Redis;

namespace SessionStore.DualWrite.Internal;

/// <summary>The settings a store's connection is built from, each under its key: when one changes, the store is built again.</summary>
internal static class ConnectionSettings
{
    public static Setting[] Of(PostgresSessionCacheOptions options) =>
    [
        new("ConnectionString", options.ConnectionString),
        new("DataSource", options.DataSource),
        new("SchemaName", options.SchemaName),
        new("TableName", options.TableName),
        new("PayloadFormat", options.PayloadFormat),
        new("Partitioning", options.Partitioning is null),
    ];

    // A multiplexer factory is compared by presence only: DI registration supplies a new delegate on every reload.
    public static Setting[] Of(RedisSessionCacheOptions options) =>
    [
        new("Configuration", options.Configuration),
        new("ConfigurationOptions", options.ConfigurationOptions?.ToString()),
        new("InstanceName", options.InstanceName),
        new("ConnectionMultiplexerFactory", options.ConnectionMultiplexerFactory is null),
    ];

    /// <summary>The keys whose values differ between two readings of the same store's settings.</summary>
    public static string[] Changed(Setting[] before, Setting[] after) =>
        before.Zip(after).Where(pair => !Equals(pair.First.Value, pair.Second.Value)).Select(pair => pair.First.Key).ToArray();

    /// <summary>One setting: its key under the store's section, and its value (never logged: it may hold a password).</summary>
    public readonly record struct Setting(string Key, object? Value);
}
