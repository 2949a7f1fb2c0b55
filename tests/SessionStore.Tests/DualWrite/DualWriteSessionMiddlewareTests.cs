using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SessionStore.DualWrite;
using SessionStore.LocalServers;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// ASP.NET Core's session middleware on the dual-write cache, through HTTP, while the phase changes and servers
/// fail: what users would see during a migration.
/// </summary>
public sealed class DualWriteSessionMiddlewareTests(PostgresServer postgres, RedisServer redis)
{
    private static readonly string[] Forward = ["RedisOnly", "DualWriteRedisPrimary", "DualWritePostgresPrimary", "PostgresOnly"];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task No_session_is_lost_across_every_phase_change_forward_and_back()
    {
        await using var app = await StartAppAsync(postgres.ConnectionString, redis.Configuration, "RedisOnly", []);
        var writers = await NewSessionsAsync(app, 4);        // change their session on every request
        var readers = await NewSessionsAsync(app, 4);        // only ever read it after the first request
        var lateWriters = await NewSessionsAsync(app, 2);    // write once while PostgreSQL is the only store, then only read

        foreach (var phase in Forward.Concat(Forward.Reverse().Skip(1)))
        {
            await SwitchPhaseAsync(app, phase);
            foreach (var writer in writers)
            {
                Assert.Equal(writer.Visits + 1, await writer.VisitAsync());
            }

            foreach (var session in readers.Concat(lateWriters))
            {
                Assert.Equal(session.Visits, await session.PeekAsync());
            }

            if (phase == "PostgresOnly")
            {
                foreach (var lateWriter in lateWriters)
                {
                    await lateWriter.VisitAsync();
                }
            }

            await SettleComparisonsAsync(app);
        }
    }

    [Fact]
    public async Task The_secondary_stopped_mid_run_fails_no_request_is_reported_and_catches_up_when_back()
    {
        await using var secondary = await LocalRedis.StartAsync(LocalRedis.FindBinary() ?? throw ServerRequirement.Unavailable("Redis", "no redis-server on PATH", "apt-get install redis-server"), Token);
        await using var app = await StartAppAsync(postgres.ConnectionString, secondary.Configuration, "DualWritePostgresPrimary", []);
        var sessions = await NewSessionsAsync(app, 5);

        await secondary.KillAsync();
        for (var round = 0; round < 3; round++)
        {
            foreach (var session in sessions)
            {
                Assert.Equal(session.Visits + 1, await session.VisitAsync());
            }
        }

        var cache = app.Services.GetRequiredService<DualWriteCache>();
        Assert.True(cache.GetStatistics().SecondaryFailures >= 15);
        Assert.Equal(HealthStatus.Degraded, await HealthAsync(app));

        await secondary.RestartAsync(Token);
        await DualWriteHarness.EventuallyAsync(async () => await HealthAsync(app) == HealthStatus.Healthy, "the secondary is reachable again");
        foreach (var session in sessions)
        {
            Assert.Equal(session.Visits + 1, await session.VisitAsync());
        }

        // Every session is in the restarted secondary again, with the primary's value: a rollback would lose nothing.
        await SwitchPhaseAsync(app, "DualWriteRedisPrimary");
        foreach (var session in sessions)
        {
            Assert.Equal(session.Visits, await session.PeekAsync());
        }

    }

    [Fact]
    public async Task With_the_primary_stopped_reads_fail_over_when_configured_and_sessions_survive_its_restart()
    {
        await using var primary = await LocalRedis.StartAsync(LocalRedis.FindBinary() ?? throw ServerRequirement.Unavailable("Redis", "no redis-server on PATH", "apt-get install redis-server"), Token);
        var prefix = $"mw-{Guid.NewGuid():N}:";
        var table = PostgresServer.UniqueTableName("mw");
        await using var failover = await StartAppAsync(postgres.ConnectionString, primary.Configuration, "DualWriteRedisPrimary", new()
        {
            ["SessionStore:FailoverReadsToSecondary"] = "true",
            ["SessionStore:Redis:InstanceName"] = prefix,
            ["SessionStore:Postgres:TableName"] = table,
        });
        await using var strict = await StartAppAsync(postgres.ConnectionString, primary.Configuration, "DualWriteRedisPrimary", new()
        {
            ["SessionStore:Redis:InstanceName"] = prefix,
            ["SessionStore:Postgres:TableName"] = table,
        });
        var sessions = await NewSessionsAsync(failover, 3);

        await primary.KillAsync();
        foreach (var session in sessions)
        {
            // Reads come from PostgreSQL; the application sees its session.
            Assert.Equal(session.Visits, await session.PeekAsync());

            // Without failover the middleware logs the failed load and serves an empty session; the request still succeeds.
            Assert.Null(await session.On(strict).PeekAsync());
        }

        await primary.RestartAsync(Token);
        await DualWriteHarness.EventuallyAsync(async () => await HealthAsync(failover) == HealthStatus.Healthy, "the primary is reachable again");

        // The restarted primary is empty: every read misses there and is repaired from PostgreSQL.
        foreach (var session in sessions)
        {
            Assert.Equal(session.Visits, await session.PeekAsync());
            Assert.Equal(session.Visits + 1, await session.VisitAsync());
        }

        Assert.True(failover.Services.GetRequiredService<DualWriteCache>().GetStatistics().ReadRepairs >= sessions.Length);
    }

    private static async Task<WebApplication> StartAppAsync(string postgresConnectionString, string redisConfiguration, string phase, Dictionary<string, string?> overrides)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        var settings = new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = phase,
            ["SessionStore:Postgres:ConnectionString"] = postgresConnectionString,
            ["SessionStore:Postgres:TableName"] = PostgresServer.UniqueTableName("mw"),
            ["SessionStore:Postgres:CreateTableIfMissing"] = "true",
            ["SessionStore:Redis:Configuration"] = redisConfiguration + ",abortConnect=false,connectTimeout=500,syncTimeout=1000,asyncTimeout=1000",
            ["SessionStore:Redis:InstanceName"] = $"mw-{Guid.NewGuid():N}:",
            ["SessionStore:ComparisonSampleRate"] = "1",
            ["SessionStore:SecondaryTimeout"] = "00:00:01",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        builder.Services.AddSession(o => o.IdleTimeout = TimeSpan.FromMinutes(20));

        var app = builder.Build();
        app.UseSession();
        app.MapGet("/visit", (HttpContext context) =>
        {
            var visits = (context.Session.GetInt32("Visits") ?? 0) + 1;
            context.Session.SetInt32("Visits", visits);
            return visits.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        app.MapGet("/peek", (HttpContext context) => context.Session.GetInt32("Visits")?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none");
        await app.StartAsync(Token);
        return app;
    }

    private static async Task SwitchPhaseAsync(WebApplication app, string phase)
    {
        app.Configuration["SessionStore:Phase"] = phase;
        ((IConfigurationRoot)app.Configuration).Reload();
        Assert.Equal(Enum.Parse<SessionStorePhase>(phase), app.Services.GetRequiredService<DualWriteCache>().Phase);
    }

    /// <summary>Comparisons run in the background, a moment after the read; a phase change waits until they (and their repairs) have ended.</summary>
    private static async Task SettleComparisonsAsync(WebApplication app)
    {
        var cache = app.Services.GetRequiredService<DualWriteCache>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (cache.GetStatistics().PendingComparisons > 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "The background comparisons never ended.");
            await Task.Delay(20, Token);
        }
    }

    private static async Task<HealthStatus> HealthAsync(WebApplication app) =>
        (await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Token)).Status;

    private static async Task<SessionClient[]> NewSessionsAsync(WebApplication app, int count)
    {
        var sessions = Enumerable.Range(0, count).Select(_ => new SessionClient(app)).ToArray();
        foreach (var session in sessions)
        {
            Assert.Equal(1, await session.VisitAsync());
        }

        return sessions;
    }

    /// <summary>A browser: one session cookie, and what the session should hold.</summary>
    private sealed class SessionClient(WebApplication app)
    {
        private string? _cookie;

        public int Visits { get; private set; }

        public SessionClient On(WebApplication other) => new(other) { _cookie = _cookie, Visits = Visits };

        public async Task<int> VisitAsync()
        {
            Visits = int.Parse(await SendAsync("/visit"), System.Globalization.CultureInfo.InvariantCulture);
            return Visits;
        }

        public async Task<int?> PeekAsync() =>
            await SendAsync("/peek") is var text && int.TryParse(text, out var visits) ? visits : null;

        private async Task<string> SendAsync(string path)
        {
            using var client = app.GetTestClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (_cookie is not null)
            {
                request.Headers.Add("Cookie", _cookie);
            }

            using var response = await client.SendAsync(request, Token);
            response.EnsureSuccessStatusCode();
            if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
            {
                _cookie = cookies.Single().Split(';')[0];
            }

            return await response.Content.ReadAsStringAsync(Token);
        }
    }
}
