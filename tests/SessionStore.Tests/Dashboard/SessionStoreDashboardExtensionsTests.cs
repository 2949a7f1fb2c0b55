using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.Dashboard;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Dashboard;

/// <summary>The package's two public calls in an application of their own, outside the sample.</summary>
public sealed class SessionStoreDashboardExtensionsTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_AddDualWriteSessionStore_the_application_fails_at_start_up_naming_what_to_call()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSessionStoreDashboard();
        await using var app = builder.Build();
        app.MapSessionStoreDashboard();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(Token));
        Assert.Contains("AddDualWriteSessionStore", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dashboard")]
    [InlineData("  ")]
    public void A_pattern_not_starting_with_a_slash_is_refused(string pattern)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Services.AddSessionStoreDashboard();
        var app = builder.Build();

        var error = Assert.ThrowsAny<ArgumentException>(() => app.MapSessionStoreDashboard(pattern));
        Assert.Equal("pattern", error.ParamName);
    }

    [Fact]
    public async Task The_page_and_its_data_are_served_under_the_given_pattern_and_the_conventions_apply_to_both()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "RedisOnly",
            ["SessionStore:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["SessionStore:Postgres:TableName"] = PostgresServer.UniqueTableName("dashboard_api"),
            ["SessionStore:Postgres:CreateTableIfMissing"] = "true",
            ["SessionStore:Redis:Configuration"] = redis.Configuration,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        builder.Services.AddSessionStoreDashboard();
        await using var app = builder.Build();
        // A host the test's requests do not use stands for an authorization requirement they do not meet.
        app.MapSessionStoreDashboard("/ops/sessions").RequireHost("admin.internal");
        app.MapSessionStoreDashboard("/open");
        await app.StartAsync(Token);
        using var http = app.GetTestClient();

        using var page = await http.GetAsync("/open", Token);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<title>SessionStore migration dashboard</title>", await page.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
        var data = await http.GetStringAsync("/open/data", Token);
        Assert.Contains("\"phase\":\"RedisOnly\"", data, StringComparison.Ordinal);

        foreach (var path in (string[])["/ops/sessions", "/ops/sessions/data"])
        {
            using var refused = await http.GetAsync(path, Token);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Host = "admin.internal" } };
            using var served = await http.SendAsync(request, Token);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        await app.StopAsync(Token);
    }

    [Theory]
    [InlineData("SessionStore:Postgres:OperationTimeout", "2s")]  // the binder cannot read it
    [InlineData("SessionStore:Phase", "Sideways")]                 // the validation refuses it
    [InlineData("SessionStore:Postgres:ConnectionString", "Host=localhost;Pooling=maybe")] // Npgsql cannot read it
    public async Task A_reload_with_a_bad_value_neither_stops_the_application_nor_the_fleet_reads(string key, string value)
    {
        var table = PostgresServer.UniqueTableName("dashboard_reload");
        await new PostgresSchemaMigrator(postgres.DataSource, new PostgresSessionCacheOptions { TableName = table }).MigrateAsync(Token);
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = "RedisOnly",
            ["SessionStore:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["SessionStore:Postgres:TableName"] = table,
            ["SessionStore:Redis:Configuration"] = redis.Configuration,
            ["Logging:LogLevel:Default"] = "Critical",
        });
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        builder.Services.AddSessionStoreDashboard();
        await using var app = builder.Build();
        app.MapSessionStoreDashboard();
        await app.StartAsync(Token);
        var stopping = app.Lifetime.ApplicationStopping;
        var fleet = app.Services.GetRequiredService<FleetWatch>();

        app.Configuration[key] = value;
        ((IConfigurationRoot)app.Configuration).Reload();
        var reloaded = DateTimeOffset.UtcNow;
        // The fleet is read every 3 s: the reads after the reload go on with the last valid settings.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (fleet.Current.ReadAt is not { } at || at < reloaded.AddSeconds(4))
        {
            Assert.False(stopping.IsCancellationRequested, "The bad reload stopped the application.");
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), $"The fleet was not read again after the reload: {fleet.Current.Error}");
            await Task.Delay(100, Token);
        }

        Assert.False(stopping.IsCancellationRequested, "The bad reload stopped the application.");
        Assert.True(fleet.Current.Error is null, fleet.Current.Error);
        using var http = app.GetTestClient();
        Assert.Contains("\"phase\":\"RedisOnly\"", await http.GetStringAsync("/dashboard/data", Token), StringComparison.Ordinal);
        await app.StopAsync(Token);
    }
}
