namespace SessionStore.DualWrite.Internal;

/// <summary>One circuit breaker per store, kept across phase changes and store rebuilds: the server is what fails.</summary>
internal sealed class StoreBreakers(Func<StoreKind, StoreBreaker> create)
{
    private readonly StoreBreaker _redis = create(StoreKind.Redis);
    private readonly StoreBreaker _postgres = create(StoreKind.Postgres);

    public StoreBreaker For(StoreKind kind) => kind == StoreKind.Redis ? _redis : _postgres;

    public IEnumerable<StoreBreaker> All => [_redis, _postgres];
}
