using SessionStore.LocalServers;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Chaos;

/// <summary>
/// Throw-away PostgreSQL and Redis servers of the chaos tests' own: the tests hang and kill them, which the
/// shared fixtures of every other test must never see.
/// </summary>
public sealed class ChaosServers : IAsyncLifetime
{
    private LocalPostgres? _postgres;
    private LocalRedis? _redis;

    public LocalPostgres Postgres => _postgres ?? throw new InvalidOperationException("Not started.");

    public LocalRedis Redis => _redis ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        var postgresBinaries = LocalPostgres.FindBinaries();
        var redisBinary = LocalRedis.FindBinary();
        if (postgresBinaries is null || redisBinary is null)
        {
            return;
        }

        _postgres = await LocalPostgres.StartAsync(postgresBinaries);
        _redis = await LocalRedis.StartAsync(redisBinary);
    }

    /// <summary>Skips (or, on CI, fails) a test when the server binaries are not installed.</summary>
    public void Require()
    {
        if (_postgres is null || _redis is null)
        {
            throw ServerRequirement.Unavailable("PostgreSQL and Redis", "the chaos tests start their own servers and need initdb/pg_ctl and redis-server", "scripts/install-servers.sh");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
