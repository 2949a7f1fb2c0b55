using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using SessionStore.LocalServers;
using SessionStore.Redis;

namespace SessionStore.Benchmarks;

/// <summary>
/// End to end: a small app on Kestrel with ASP.NET Core's session middleware, loaded by wrk with requests that
/// each read one of <see cref="Sessions"/> signed-in sessions, chosen at random, on each store in turn.
/// </summary>
internal static partial class HttpMeasurement
{
    /// <summary>
    /// As many as the other measurements hold. One session read by every connection measured a hot row rather than
    /// a site: in one-second windows PostgreSQL's p99 reached 27–49 ms in 4 of 20, against 12–19 ms in the worst 3 of
    /// 30 with 10,000 sessions.
    /// </summary>
    public const int Sessions = 10_000;

    /// <summary>Unmeasured load before each measured run (see <see cref="MeasureAsync"/>).</summary>
    public static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(12);

    /// <summary>Each measured run of the report: long enough that one slow second does not make the p99.</summary>
    public static readonly TimeSpan Measured = TimeSpan.FromSeconds(10);

    public static async Task<List<(string Store, int Connections, double RequestsPerSecond, string P50, string P99)>> RunAsync(int[] connections, TimeSpan duration) =>
        [.. (await MeasureAsync(connections, duration)).Select(r => (r.Store, r.Connections, r.RequestsPerSecond, r.P50, r.P99))];

    /// <summary>The <c>http</c> command: the same runs, each with what the process did meanwhile (GC, thread pool, connections opened).</summary>
    public static async Task PrintAsync(int[] connections, TimeSpan duration)
    {
        var load = File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
        var results = await MeasureAsync(connections, duration);
        Console.WriteLine($"GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {Environment.ProcessorCount} processors; load average at start {load}");
        Console.WriteLine("| store | connections | requests/s | p50 | p99 | GCs (gen0/1/2) | GC pause | thread pool threads (max) | queued work items (max) | lock contentions | Npgsql connections opened |");
        Console.WriteLine("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var d = r.Diagnostics;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Store} | {r.Connections} | {r.RequestsPerSecond:N0} | {r.P50} | {r.P99} | {d.Gen0}/{d.Gen1}/{d.Gen2} | {d.GcPause.TotalMilliseconds:0} ms | {d.MaxThreads} | {d.MaxQueued} | {d.LockContentions} | {d.ConnectionsOpened} |"));
        }
    }

    private static async Task<List<HttpRun>> MeasureAsync(int[] connections, TimeSpan duration)
    {
        if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(directory => File.Exists(Path.Combine(directory, "wrk"))))
        {
            throw new InvalidOperationException("wrk is not installed: the end-to-end measurement needs it (Debian: apt-get install wrk).");
        }

        await using var postgres = await LocalPostgres.StartAsync(LocalPostgres.FindBinaries()!, durable: true);
        await using var redis = await LocalRedis.StartAsync(LocalRedis.FindBinary()!);
        await using var admin = NpgsqlDataSource.Create(postgres.ConnectionString);
        var stores = new (string Name, Action<IServiceCollection> Register)[]
        {
            ("SessionStore PostgreSQL", s => s.AddPostgresSessionCache(o => { o.ConnectionString = postgres.ConnectionString; o.CreateTableIfMissing = true; })),
            ("SessionStore PostgreSQL, bytea", s => s.AddPostgresSessionCache(o =>
            {
                o.ConnectionString = postgres.ConnectionString;
                o.CreateTableIfMissing = true;
                o.TableName = "sessions_bytea";
                o.PayloadFormat = Postgres.PostgresPayloadFormat.Bytea;
            })),
            ("SessionStore Redis", s => s.AddRedisSessionCache(o => o.Configuration = redis.Configuration)),
            (Contenders.RedisCacheName, s => s.AddStackExchangeRedisCache(o => o.Configuration = redis.Configuration)),
        };

        var results = new List<HttpRun>();
        using var connectionsOpened = new NpgsqlConnectionCounter();
        foreach (var (name, register) in stores)
        {
            await using var app = await StartAppAsync(register);
            var url = app.Urls.First();
            var script = await SignInAsync(url);
            try
            {
                // The tables in a stated state, as in the other measurements: the sign-ins' 10,000 inserts would otherwise
                // wake autovacuum, and their WAL a checkpoint, during the measured runs.
                await AdminCommands.ExecuteAsync(admin, "VACUUM ANALYZE");
                await AdminCommands.ExecuteAsync(admin, "CHECKPOINT");
                foreach (var count in connections)
                {
                    Console.Write($"\rhttp {name,-32} c={count}   ");

                    // Unmeasured first: a cold pool opens its connections on the request path (each a PostgreSQL backend
                    // started), and fresh code runs before its final JIT tier, which is start-up cost, not the steady state.
                    // Measured second by second, the first store's rate still climbed for 8–12 s after the sign-ins (the
                    // stores measured later share the warmed middleware and Kestrel code). The runtime figures show what remains.
                    await WrkAsync(url, script, count, WarmUp);
                    using var sampler = new RuntimeSampler(connectionsOpened);
                    var output = await WrkAsync(url, script, count, duration);
                    var diagnostics = sampler.Stop();
                    if (!RequestsPerSecond().IsMatch(output) || output.Contains("Non-2xx", StringComparison.Ordinal) || output.Contains("Socket errors", StringComparison.Ordinal))
                    {
                        Console.Error.WriteLine($"wrk against {name}:\n{output}");
                    }

                    results.Add(new HttpRun(name, count,
                        double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
                        Percentile(output, "50%"), Percentile(output, "99%"), diagnostics));
                }
            }
            finally
            {
                File.Delete(script);
            }
        }

        Console.WriteLine();
        return results;
    }

    private static async Task<WebApplication> StartAppAsync(Action<IServiceCollection> register)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        register(builder.Services);
        builder.Services.AddSession(o => o.IdleTimeout = TimeSpan.FromMinutes(20));
        var app = builder.Build();
        app.UseSession();
        app.MapGet("/sign-in", async (HttpContext context) =>
        {
            await context.Session.LoadAsync();
            context.Session.SetString("UserId", $"user-{Random.Shared.Next(1_000_000)}");
        });
        // LoadAsync first, as Microsoft recommends: without it the middleware loads the session with the
        // synchronous Get, which starves the thread pool on RedisCache under load (docs/redis.md, "Synchronous calls").
        app.MapGet("/", async (HttpContext context) =>
        {
            await context.Session.LoadAsync();
            return context.Session.GetString("UserId") ?? "anonymous";
        });
        await app.StartAsync();
        return app;
    }

    /// <summary>Signs in <see cref="Sessions"/> browsers; returns a wrk script that sends each request with one of their cookies, chosen at random.</summary>
    private static async Task<string> SignInAsync(string url)
    {
        using var browser = new HttpClient(new SocketsHttpHandler { UseCookies = false });
        var cookies = new string[Sessions];
        await Parallel.ForAsync(0, Sessions, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
        {
            using var response = await browser.GetAsync(new Uri(url + "/sign-in"), token);
            cookies[i] = response.EnsureSuccessStatusCode().Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        });

        var script = Path.GetTempFileName();
        await File.WriteAllTextAsync(script, $"local cookies = {{ {string.Join(",\n", cookies.Select(c => $"\"{c}\""))} }}\n" +
            "request = function() return wrk.format(nil, nil, { [\"Cookie\"] = cookies[math.random(#cookies)] }) end\n");
        return script;
    }

    private static async Task<string> WrkAsync(string url, string script, int connections, TimeSpan duration)
    {
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-t", "1", "-c", $"{connections}", "-d", $"{(int)duration.TotalSeconds}s", "--latency", "-s", script, url + "/" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }

    private static string Percentile(string output, string percentile) =>
        Regex.Match(output, $@"^\s+{Regex.Escape(percentile)}\s+(\S+)", RegexOptions.Multiline).Groups[1].Value;

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();
}
