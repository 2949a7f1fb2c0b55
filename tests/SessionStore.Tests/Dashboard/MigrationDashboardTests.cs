using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.Fleet;
using SessionStore.Sample;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Dashboard;

/// <summary>
/// The migration dashboard (package SessionStore.Dashboard) in the sample app, on the test servers: sessions written in RedisOnly, then read in
/// DualWriteRedisPrimary, where each is found missing in PostgreSQL; the data and the page drawn by a headless browser.
/// </summary>
public sealed class MigrationDashboardTests(PostgresServer postgres, RedisServer redis)
{
    private const int Sessions = 24;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task The_dashboard_shows_latencies_mismatches_repairs_breakers_and_the_fleet_of_a_dual_write_phase()
    {
        var aborted = TestContext.Current.CancellationToken;
        var instance = $"dashboard-test-{Guid.NewGuid():N}"[..28];
        var phase = new LivePhase(SessionStorePhase.RedisOnly);
        await using var app = await SampleApp.BuildAsync(
            ["--urls", "http://127.0.0.1:0", "--contentRoot", AppContext.BaseDirectory, "--environment", "Production"],
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["SessionStore:Postgres:ConnectionString"] = postgres.ConnectionString,
                    ["SessionStore:Postgres:TableName"] = PostgresServer.UniqueTableName("dashboard"),
                    ["SessionStore:Postgres:CreateTableIfMissing"] = "true",
                    ["SessionStore:Redis:Configuration"] = redis.Configuration,
                    ["SessionStore:Redis:InstanceName"] = $"{instance}:",
                    ["SessionStore:ComparisonSampleRate"] = "1", // every read is compared, so every session's absence is found
                    ["Logging:LogLevel:Default"] = "Warning",
                });
                builder.Configuration.Sources.Add(phase);
                builder.Services.Configure<SessionStoreFleetOptions>(fleet =>
                {
                    fleet.InstanceName = instance;
                    fleet.HeartbeatInterval = TimeSpan.FromSeconds(1);
                    fleet.StaleAfter = TimeSpan.FromSeconds(30);
                });
            });
        await app.StartAsync(aborted);
        var address = new Uri(app.Urls.First());
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

        var cookies = new List<string>();
        for (var i = 0; i < Sessions; i++)
        {
            using var response = await http.GetAsync($"/sign-in?user=user{i}", aborted);
            response.EnsureSuccessStatusCode();
            cookies.Add(response.Headers.GetValues("Set-Cookie").Single().Split(';')[0]);
        }

        // The phase is sampled once a second: stay in RedisOnly until a sample shows it, with Redis alone timed.
        using (var redisOnly = await WaitForDataAsync(http, root => root.GetProperty("history").EnumerateArray().Any(IsRedisOnlyWithTraffic), aborted))
        {
            Assert.Contains(redisOnly.RootElement.GetProperty("history").EnumerateArray(), IsRedisOnlyWithTraffic);
        }

        // Reads only: a write would put the session in both stores before the background comparison confirms the difference.
        phase.Enter(SessionStorePhase.DualWriteRedisPrimary);
        for (var round = 0; round < 3; round++)
        {
            foreach (var cookie in cookies)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/cart");
                request.Headers.Add("Cookie", cookie);
                using var response = await http.SendAsync(request, aborted);
                response.EnsureSuccessStatusCode();
            }
        }

        // Comparisons run in the background and the fleet is read every few seconds: wait for both.
        using var data = await WaitForDataAsync(http, Arrived, aborted);
        var root = data.RootElement;
        var statistics = root.GetProperty("statistics");
        Assert.Equal("DualWriteRedisPrimary", statistics.GetProperty("phase").GetString());
        Assert.True(statistics.GetProperty("mismatches").GetProperty("MissingInSecondary").GetInt64() > 0, "No MissingInSecondary mismatch: " + statistics);
        Assert.True(statistics.GetProperty("readRepairs").GetInt64() > 0, "No read-repair: " + statistics);
        Assert.Equal(0, statistics.GetProperty("secondaryFailures").GetInt64());
        Assert.Equal("Closed", statistics.GetProperty("breakers").GetProperty("redis").GetString());
        Assert.Equal("Closed", statistics.GetProperty("breakers").GetProperty("postgresql").GetString());
        Assert.True(statistics.GetProperty("catchUpBacklog").TryGetProperty("postgresql", out _));
        Assert.Equal(instance, root.GetProperty("instance").GetString());
        Assert.True(root.GetProperty("windowSeconds").GetInt32() > 0);

        var history = root.GetProperty("history").EnumerateArray().ToList();
        Assert.Contains(history, IsRedisOnlyWithTraffic);
        Assert.True(history[^1].GetProperty("readRepairs").GetInt64() > 0);
        Assert.True(history[^1].GetProperty("mismatches").GetInt64() > 0);
        foreach (var store in (string[])["redis", "postgresql"])
        {
            var latencies = history.SelectMany(sample => sample.GetProperty("stores").EnumerateArray()).Where(l => l.GetProperty("store").GetString() == store && l.GetProperty("count").GetInt64() > 0).ToList();
            Assert.True(latencies.Count > 0, $"No latency of {store} in the history.");
            Assert.All(latencies, l => Assert.True(l.GetProperty("p50Milliseconds").GetDouble() > 0 && l.GetProperty("p99Milliseconds").GetDouble() >= l.GetProperty("p50Milliseconds").GetDouble(), l.ToString()));
        }

        var operations = root.GetProperty("operations").EnumerateArray().ToList();
        Assert.Contains(operations, o => o.GetProperty("store").GetString() == "postgresql" && o.GetProperty("operation").GetString() == "set");
        Assert.Contains(operations, o => o.GetProperty("store").GetString() == "redis" && o.GetProperty("operation").GetString() == "get");

        var self = Assert.Single(root.GetProperty("fleet").GetProperty("instances").EnumerateArray(), i => i.GetProperty("instanceId").GetString() == instance);
        Assert.Equal("DualWriteRedisPrimary", self.GetProperty("phase").GetString());
        Assert.True(self.GetProperty("isSelf").GetBoolean());
        Assert.False(self.GetProperty("isStale").GetBoolean());

        var page = await http.GetStringAsync("/dashboard", aborted);
        Assert.DoesNotContain("src=\"http", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("href=\"http", page, StringComparison.OrdinalIgnoreCase);

        var dashboard = new Uri(address, "/dashboard");
        var dom = await HeadlessChromium.DumpDomAsync(dashboard, aborted);
        Assert.Contains("data-rendered=\"true\"", dom, StringComparison.Ordinal);
        foreach (var series in (string[])["redis-p50", "redis-p99", "postgresql-p50", "postgresql-p99", "readRepairs", "mismatches", "secondaryFailures"])
        {
            Assert.Contains($"data-series=\"{series}\"", dom, StringComparison.Ordinal);
        }

        Assert.Contains("data-kind=\"MissingInSecondary\"", dom, StringComparison.Ordinal);
        Assert.Contains("data-phase=\"RedisOnly\"", dom, StringComparison.Ordinal);
        Assert.Contains("data-phase=\"DualWriteRedisPrimary\"", dom, StringComparison.Ordinal);
        Assert.Contains(instance, dom, StringComparison.Ordinal);

        var png = Path.Combine(Directory.CreateTempSubdirectory("sessionstore-dashboard-").FullName, "dashboard.png");
        await HeadlessChromium.ScreenshotAsync(dashboard, png, aborted);
        var bytes = await File.ReadAllBytesAsync(png, aborted);
        Assert.Equal((1400, 1000), HeadlessChromium.PngSize(bytes));
        // A blank 1400×1000 page compresses to a few kilobytes; charts, tables and text take far more.
        Assert.True(bytes.Length > 40_000, $"The screenshot is only {bytes.Length} bytes: the page drew next to nothing.");
        File.Delete(png);
        await app.StopAsync(aborted);

        static bool IsRedisOnlyWithTraffic(JsonElement sample) =>
            sample.GetProperty("phase").GetString() == "RedisOnly"
            && sample.GetProperty("stores").EnumerateArray().Where(l => l.GetProperty("count").GetInt64() > 0).Select(l => l.GetProperty("store").GetString()).SequenceEqual(["redis"]);

        static bool Arrived(JsonElement root) =>
            root.GetProperty("statistics").GetProperty("mismatches").GetProperty("MissingInSecondary").GetInt64() > 0
            && root.GetProperty("statistics").GetProperty("readRepairs").GetInt64() > 0
            && root.GetProperty("fleet").GetProperty("instances").GetArrayLength() > 0
            && root.GetProperty("history").EnumerateArray().LastOrDefault() is { ValueKind: JsonValueKind.Object } last
            && last.GetProperty("mismatches").GetInt64() > 0;
    }

    private static async Task<JsonDocument> WaitForDataAsync(HttpClient http, Func<JsonElement, bool> arrived, CancellationToken aborted)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard/data");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await http.SendAsync(request, aborted);
            response.EnsureSuccessStatusCode();
            var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(aborted), cancellationToken: aborted);
            if (arrived(document.RootElement) || DateTime.UtcNow > deadline)
            {
                return document;
            }

            document.Dispose();
            await Task.Delay(TimeSpan.FromMilliseconds(500), aborted);
        }
    }
}
