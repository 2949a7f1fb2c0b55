namespace SessionStore.DualWrite.Internal;

/// <summary>A store could not be built from its settings (a malformed connection string, say); names the section to fix.</summary>
internal sealed class StoreUnavailableException(StoreKind kind, Exception inner)
    : InvalidOperationException($"The {kind} session store could not be built from {SettingOf(kind)}: {inner.Message}", inner)
{
    public StoreKind Kind => kind;

    /// <summary>The configuration key that holds the store's connection settings.</summary>
    public static string SettingOf(StoreKind kind) => kind == StoreKind.Postgres
        ? $"{SessionStoreOptions.SectionName}:{nameof(SessionStoreOptions.Postgres)}:{nameof(Postgres.PostgresSessionCacheOptions.ConnectionString)}"
        : $"{SessionStoreOptions.SectionName}:{nameof(SessionStoreOptions.Redis)}:{nameof(Redis.RedisSessionCacheOptions.Configuration)}";
}
