using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Benchmarks;

/// <summary>One cache under measurement; <see cref="UsesPostgres"/> says whether PostgreSQL statistics describe it.</summary>
internal sealed record Contender(string Name, IDistributedCache Cache, bool UsesPostgres, bool UsesRedis) : IDisposable
{
    public void Dispose() => (Cache as IDisposable)?.Dispose();
}
