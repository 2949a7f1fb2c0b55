using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Logging.Testing;
using SessionStore.DualWrite;
using SessionStore.Internal;
using SessionStore.Tests.Chaos;
using SessionStore.Tests.TestServers;
using MicrosoftRedisCache = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCache;

namespace SessionStore.Tests.Cluster;

/// <summary>
/// An application behind ASP.NET Core's session middleware on a Redis Cluster, with browsers that each hold many
/// sessions and visit them in turn, checking every visit sees the previous one; the sessions spread over the slots,
/// so a reshard moves some of them under traffic.
/// </summary>
public sealed class ClusterSessionApp : IAsyncDisposable
{
    public static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan SecondaryTimeout = TimeSpan.FromMilliseconds(500);
    public const string UserIdKey = "UserId";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _sessions = new(StringComparer.Ordinal);

    private ClusterSessionApp(WebApplication app, CountingCache cache)
    {
        _app = app;
        Cache = cache;
    }

    /// <summary>What the middleware asked of the cache, and what failed.</summary>
    public CountingCache Cache { get; }

    /// <summary>The dual-write cache, when the app runs on one.</summary>
    public DualWriteCache? DualWrite => _app.Services.GetService<DualWriteCache>();

    /// <summary>Every session the browsers hold (cookie to the last count seen).</summary>
    public IReadOnlyDictionary<string, int> Sessions => _sessions;

    /// <summary>
    /// The app on SessionStore in <paramref name="phase"/> (RedisSessionCache on the cluster; PostgreSQL too in a dual
    /// phase), or, with <paramref name="phase"/> null, on Microsoft's RedisCache. The dual phases wait
    /// <paramref name="secondaryTimeout"/> (by default <see cref="SecondaryTimeout"/>) for the secondary.
    /// </summary>
    public static async Task<ClusterSessionApp> StartAsync(string redisConfiguration, PostgresServer postgres, string? phase, bool? useScripts = null, TimeSpan? secondaryTimeout = null)
    {
        var prefix = $"topology-{Guid.NewGuid():N}:";
        // The client's own timeouts are left long: the stores' OperationTimeout is what is under test.
        var configuration = redisConfiguration + ",abortConnect=false,connectTimeout=5000,syncTimeout=5000,asyncTimeout=5000";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        // The session middleware's own errors (a load it swallowed, a commit that failed) are kept, not printed: the
        // node-loss tests expect many; a failed session creation quotes them.
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter<ConsoleLoggerProvider>("Microsoft.AspNetCore.Session", LogLevel.Critical).AddFakeLogging();
        if (phase is null)
        {
            builder.Services.AddSingleton(_ => new CountingCache(new MicrosoftRedisCache(Microsoft.Extensions.Options.Options.Create(new RedisCacheOptions
            {
                Configuration = configuration,
                InstanceName = prefix,
            }))));
        }
        else
        {
            builder.Services.AddDualWriteSessionStore(options =>
            {
                options.Phase = SessionStorePhaseConverter.Parse(phase);
                options.Redis.Configuration = configuration;
                options.Redis.InstanceName = prefix;
                options.Redis.OperationTimeout = OperationTimeout;
                options.Redis.UseScripts = useScripts;
                options.UserIdSessionKey = UserIdKey;
                options.Postgres.ConnectionString = postgres.ConnectionString;
                options.Postgres.TableName = PostgresServer.UniqueTableName("topology");
                options.Postgres.CreateTableIfMissing = true;
                options.Postgres.OperationTimeout = OperationTimeout;
                options.SecondaryTimeout = secondaryTimeout ?? SecondaryTimeout;
                options.ComparisonSampleRate = 0;
            });
            builder.Services.AddSingleton(provider => new CountingCache(provider.GetRequiredService<DualWriteCache>()));
        }

        builder.Services.AddSingleton<IDistributedCache>(provider => provider.GetRequiredService<CountingCache>());
        builder.Services.AddSession(o => o.IdleTimeout = TimeSpan.FromMinutes(20));
        var app = builder.Build();
        app.UseSession();
        app.MapGet("/visit", async (HttpContext context) =>
        {
            await context.Session.LoadAsync(context.RequestAborted);
            var visits = (context.Session.GetInt32("Visits") ?? 0) + 1;
            context.Session.SetInt32("Visits", visits);
            if (visits == 1)
            {
                // A signed-in user, so every write also keeps the user's revoke index: a second key, in another slot.
                context.Session.SetString(UserIdKey, $"user-{Random.Shared.Next(300)}");
            }
            return visits.ToString(CultureInfo.InvariantCulture);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new ClusterSessionApp(app, app.Services.GetRequiredService<CountingCache>());
    }

    /// <summary>Creates <paramref name="browsers"/> × <paramref name="sessionsPerBrowser"/> sessions (one visit each).</summary>
    public async Task CreateSessionsAsync(int browsers, int sessionsPerBrowser)
    {
        var traffic = new Traffic();
        await Task.WhenAll(Enumerable.Range(0, browsers).Select(_ => Task.Run(async () =>
        {
            using var client = _app.GetTestClient();
            for (var i = 0; i < sessionsPerBrowser; i++)
            {
                var (cookie, visit, _) = await VisitAsync(client, cookie: null, previous: 0);
                traffic.Add(visit);
                Assert.True(visit.Ok && cookie is not null, $"Creating a session failed ({visit.Failure ?? "no session cookie"}): {Cache.Summary()}; {SessionLog()}");
                _sessions[cookie!] = 1;
            }
        })));
    }

    /// <summary>
    /// Runs <paramref name="browsers"/> browsers over the sessions until <paramref name="stop"/> fires; each visits its
    /// share of the sessions in turn. A visit that does not see the previous count is lost.
    /// </summary>
    public async Task<Traffic> RunTrafficAsync(int browsers, CancellationToken stop)
    {
        var traffic = new Traffic();
        var cookies = _sessions.Keys.ToArray();
        await Task.WhenAll(Enumerable.Range(0, browsers).Select(b => Task.Run(async () =>
        {
            using var client = _app.GetTestClient();
            var mine = cookies.Where((_, i) => i % browsers == b).ToArray();
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                var cookie = mine[round % mine.Length];
                var (_, visit, seen) = await VisitAsync(client, cookie, _sessions[cookie]);
                traffic.Add(visit);
                if (visit.Ok && !visit.Lost)
                {
                    _sessions[cookie] = seen;
                }
            }
        })));
        return traffic;
    }

    /// <summary>Visits every session once more, after the traffic: how many do not show their last count + 1.</summary>
    public async Task<int> CountLostSessionsAsync()
    {
        var lost = 0;
        using var client = _app.GetTestClient();
        foreach (var (cookie, visits) in _sessions.ToArray())
        {
            var (_, visit, _) = await VisitAsync(client, cookie, visits, exact: true);
            lost += visit.Ok && !visit.Lost ? 0 : 1;
        }

        return lost;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private string SessionLog() =>
        string.Join(" | ", _app.Services.GetRequiredService<FakeLogCollector>().GetSnapshot()
            .Where(r => r.Category?.StartsWith("Microsoft.AspNetCore.Session", StringComparison.Ordinal) == true)
            .TakeLast(3).Select(r => $"{r.Level}: {r.Message} {r.Exception?.GetType().Name}: {r.Exception?.Message}"));

    private static async Task<(string? Cookie, Visit Visit, int Seen)> VisitAsync(HttpClient client, string? cookie, int previous, bool exact = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/visit");
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

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

            var lost = ok && (exact ? seen != previous + 1 : seen <= previous);
            var failure = ok ? null : $"HTTP {(int)response.StatusCode}: {(body.Length > 300 ? body[..300] : body)}";
            return (cookie, new Visit(started, Stopwatch.GetElapsedTime(started), ok, lost, NewVisitor: previous == 0, failure), seen);
        }
        catch (Exception e)
        {
            // TestServer hands the application's exception to the client: for a browser, a failed request.
            return (cookie, new Visit(started, Stopwatch.GetElapsedTime(started), Ok: false, Lost: false, NewVisitor: previous == 0, e.ToString()), -1);
        }
    }
}
