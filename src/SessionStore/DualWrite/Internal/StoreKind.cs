namespace SessionStore.DualWrite.Internal;

/// <summary>One of the two stores a migration moves between.</summary>
internal enum StoreKind
{
    Redis,
    Postgres,
}
