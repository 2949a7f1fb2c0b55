using SessionStore.Postgres;
using SessionStore.Redis;

namespace SessionStore.DualWrite.Internal;

/// <summary>The settings a store's connection is built from: when they change, the store is built again.</summary>
internal static class ConnectionSettings
{
    public static object Of(PostgresSessionCacheOptions options) =>
        (options.ConnectionString, options.DataSource, options.SchemaName, options.TableName, options.PayloadFormat, options.Partitioning is null);

    // A multiplexer factory is compared by presence only: DI registration supplies a new delegate on every reload.
    public static object Of(RedisSessionCacheOptions options) =>
        (options.Configuration, options.ConfigurationOptions?.ToString(), options.InstanceName, options.ConnectionMultiplexerFactory is null);
}
