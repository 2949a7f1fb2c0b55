using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using SessionStore.DualWrite;
using SessionStore.DualWrite.Internal;
using SessionStore.Internal;
using SessionStore.Migration;
using SessionStore.Postgres;
using SessionStore.Redis;
using SessionStore.Tests.TestServers;
using StackExchange.Redis;

namespace SessionStore.Tests.Chaos;

/// <summary>
/// An application on the dual-write cache behind ASP.NET Core's session middleware, with browsers that visit it
/// concurrently and check that every visit sees the previous one, and a direct view of both stores.
/// </summary>
public sealed class ChaosApp : IAsyncDisposable
{
    public static readonly TimeSpan SecondaryTimeout = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(1);

    /// <summary>How long a server stays hung: 6 s in CI, 60 s with SESSIONSTORE_LONG_CHAOS=1.</summary>
    public static TimeSpan Hang => Environment.GetEnvironmentVariable("SESSIONSTORE_LONG_CHAOS") == "1" ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(6);

    private readonly WebApplication _app;
    private readonly string _table = PostgresServer.UniqueTableName("chaos");
    private readonly string _prefix = $"chaos-{Guid.NewGuid():N}:";
    private readonly string _postgresConnectionString;
    private readonly string _redisConfiguration;
    private readonly string _phase;

    private ChaosApp(ChaosServers servers, string phase, bool failover)
    {
        _phase = phase;
        // Cancellation Timeout=-1: Npgsql does not wait for the answer to a cancel request, which a hung server never
        // sends; with the default (2 s) every timed-out command holds a thread that long, and the thread pool starves.
        _postgresConnectionString = servers.Postgres.ConnectionString + ";Timeout=5;Cancellation Timeout=-1;Maximum Pool Size=200";
        // The drivers' own timeouts are left long: the stores' OperationTimeout and the dual-write bounds are what is under test.
        _redisConfiguration = servers.Redis.Configuration + ",abortConnect=false,connectTimeout=5000,syncTimeout=5000,asyncTimeout=5000";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("SessionStore", LogLevel.Information).AddFilter("Microsoft.AspNetCore.Session", LogLevel.Critical);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = phase,
            ["SessionStore:Postgres:ConnectionString"] = _postgresConnectionString,
            ["SessionStore:Postgres:TableName"] = _table,
            ["SessionStore:Postgres:CreateTableIfMissing"] = "true",
            ["SessionStore:Redis:Configuration"] = _redisConfiguration,
            ["SessionStore:Redis:InstanceName"] = _prefix,
            ["SessionStore:ComparisonSampleRate"] = "0",
            ["SessionStore:SecondaryTimeout"] = SecondaryTimeout.ToString(),
            ["SessionStore:Postgres:OperationTimeout"] = OperationTimeout.ToString(),
            ["SessionStore:Redis:OperationTimeout"] = OperationTimeout.ToString(),
            ["SessionStore:BreakDuration"] = "00:00:01",
            ["SessionStore:HealthCheckTimeout"] = "00:00:01",
            ["SessionStore:SecondaryFailureLogLevel"] = "Debug",
            ["SessionStore:FailoverReadsToSecondary"] = failover ? "true" : "false",
        });
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        builder.Services.AddSession(o => o.IdleTimeout = TimeSpan.FromMinutes(20));
        _app = builder.Build();
        _app.UseSession();
        _app.MapGet("/visit", async (HttpContext context) =>
        {
            // The middleware commits after the endpoint; the browser reads the body to its end, which comes after that.
            await context.Session.LoadAsync(context.RequestAborted);
            var visits = (context.Session.GetInt32("Visits") ?? 0) + 1;
            context.Session.SetInt32("Visits", visits);
            return visits.ToString(CultureInfo.InvariantCulture);
        });
        Postgres = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = _postgresConnectionString, TableName = _table, CreateTableIfMissing = true });
        Redis = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = _redisConfiguration, InstanceName = _prefix });
    }

    public DualWriteCache Cache => _app.Services.GetRequiredService<DualWriteCache>();

    public IServiceProvider Services => _app.Services;

    public PostgresSessionCache Postgres { get; }

    public RedisSessionCache Redis { get; }

    public static async Task<ChaosApp> StartAsync(ChaosServers servers, string phase, bool failover = false)
    {
        servers.Require();
        var app = new ChaosApp(servers, phase, failover);
        await app._app.StartAsync(TestContext.Current.CancellationToken);

        // The first write creates the table and connects both stores: done before the browsers come, so that 16 of
        // them waiting on it under OperationTimeout is not mistaken for a fault.
        await app.Cache.SetAsync("warm-up", [1], new() { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) }, TestContext.Current.CancellationToken);
        await app.Cache.RemoveAsync("warm-up", TestContext.Current.CancellationToken);
        return app;
    }

    /// <summary>Runs browsers until <paramref name="stop"/> fires: most return with their session, some are new visitors.</summary>
    public async Task<Traffic> RunTrafficAsync(int browsers, CancellationToken stop, bool newVisitors = true)
    {
        var traffic = new Traffic();
        await Task.WhenAll(Enumerable.Range(0, browsers).Select(i => Task.Run(async () =>
        {
            using var client = _app.GetTestClient();
            client.Timeout = TimeSpan.FromSeconds(60);
            string? cookie = null;
            var visits = 0;
            var newVisitor = newVisitors && i % 4 == 0;
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                if (newVisitor && round % 5 == 0)
                {
                    (cookie, visits) = (null, 0);
                }

                using var request = new HttpRequestMessage(HttpMethod.Get, "/visit");
                if (cookie is not null)
                {
                    request.Headers.Add("Cookie", cookie);
                }

                var fresh = cookie is null;
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await client.SendAsync(request, CancellationToken.None);
                    var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    var ok = response.IsSuccessStatusCode;
                    var seen = ok && int.TryParse(body, out var v) ? v : -1;
                    if (response.Headers.TryGetValues("Set-Cookie", out var cookies))
                    {
                        cookie = cookies.Single().Split(';')[0];
                    }

                    // Lost: the session went back. (After a failed request the count may have moved on: its write may have landed.)
                    traffic.Add(new Visit(started, Stopwatch.GetElapsedTime(started), ok, ok && seen <= visits, fresh));
                    visits = ok ? seen : visits;
                }
                catch (Exception e)
                {
                    // TestServer hands the application's exception to the client: for a browser, a failed request.
                    traffic.Add(new Visit(started, Stopwatch.GetElapsedTime(started), Ok: false, Lost: false, NewVisitor: fresh));
                    traffic.Errors.TryAdd(e.GetType().Name + ": " + e.Message, 0);
                }
            }
        }))).ConfigureAwait(false);
        return traffic;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, up to <paramref name="limit"/>; the time it took.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(Func<bool> condition, TimeSpan limit, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < limit, $"Timed out after {limit} waiting until {what}.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>Compares every session either store holds; how many differ (value, expiry, or present in one only).</summary>
    public async Task<(int Sessions, int Differences)> CompareAllAsync()
    {
        var token = TestContext.Current.CancellationToken;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await using (var dataSource = NpgsqlDataSource.Create(_postgresConnectionString))
        await using (var command = dataSource.CreateCommand($"SELECT sid FROM \"public\".\"{_table}\""))
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            while (await reader.ReadAsync(token))
            {
                keys.Add(reader.GetString(0));
            }
        }

        await using (var connection = await ConnectionMultiplexer.ConnectAsync(_redisConfiguration))
        {
            var server = connection.GetServers().Single();
            await foreach (var key in server.KeysAsync(pattern: _prefix + "*"))
            {
                keys.Add(((string)key!)[_prefix.Length..]);
            }
        }

        var differences = 0;
        foreach (var key in keys)
        {
            var postgres = await ((ISessionCacheProvider)Postgres).GetEntryAsync(key, async: true, token);
            var redis = await ((ISessionCacheProvider)Redis).GetEntryAsync(key, async: true, token);
            var differs = (postgres, redis) switch
            {
                (null, null) => false,
                ({ } p, var r) => SessionComparison.Classify(p, r, TimeSpan.FromMinutes(5)) is not null,
                (null, _) => true,
            };
            differences += differs ? 1 : 0;
        }

        return (keys.Count, differences);
    }

    /// <summary>The go/no-go check an operator runs, over every session: <c>sessionstore verify --full</c>.</summary>
    public async Task<VerificationResult> VerifyAsync()
    {
        var options = new SessionStoreOptions { Phase = SessionStorePhaseConverter.Parse(_phase) };
        options.Postgres.ConnectionString = _postgresConnectionString;
        options.Postgres.TableName = _table;
        options.Redis.Configuration = _redisConfiguration;
        options.Redis.InstanceName = _prefix;
        return await new SessionStoreVerifier(options).VerifyAsync(new VerificationOptions { Full = true }, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Postgres.Dispose();
        Redis.Dispose();
    }
}
