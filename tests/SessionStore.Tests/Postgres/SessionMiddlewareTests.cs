using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Postgres;

/// <summary>ASP.NET Core's own session middleware on PostgresSessionCache, through HTTP requests.</summary>
public sealed class SessionMiddlewareTests(PostgresServer server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sessions_written_by_the_middleware_are_readable_rows_and_survive_between_requests()
    {
        var tableName = PostgresServer.UniqueTableName("mw");
        await using var app = await StartAppAsync(tableName);
        using var client = app.GetTestClient();

        var signIn = await client.GetAsync("/sign-in?user=ada", Token);
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        var sessionId = await signIn.Content.ReadAsStringAsync(Token);
        for (var i = 0; i < 3; i++)
        {
            await SendAsync(client, "/visit", cookie);
        }

        var whoAmI = await (await SendAsync(client, "/who-am-i", cookie)).Content.ReadFromJsonAsync<string[]>(Token);
        Assert.Equal(["ada", "3"], whoAmI!);

        using var table = new PostgresTestTable(server, o => o.TableName = tableName);
        Assert.Equal(1L, await table.ScalarAsync<long>("SELECT count(*) FROM {table}"));
        Assert.Equal("ada", await table.ScalarAsync<string>("SELECT user_id FROM {table}"));
        Assert.Equal(sessionId, await table.ScalarAsync<string>("SELECT sess->>'id' FROM {table}"));
        Assert.Equal("ada", await table.ScalarAsync<string>("SELECT sess->'values'->>'UserId' FROM {table}"));
        Assert.InRange(await table.ScalarAsync<double>("SELECT extract(epoch FROM expire - now())::float8 FROM {table}"), 1100, 1200);
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string cookie)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", cookie);
        return client.SendAsync(request, Token);
    }

    private async Task<WebApplication> StartAppAsync(string tableName)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddPostgresSessionCache(o =>
        {
            o.ConnectionString = server.ConnectionString;
            o.TableName = tableName;
            o.CreateTableIfMissing = true;
            o.UserIdSessionKey = "UserId";
        });
        builder.Services.AddSession(o => o.IdleTimeout = TimeSpan.FromMinutes(20));

        var app = builder.Build();
        app.UseSession();
        app.MapGet("/sign-in", (HttpContext context, string user) =>
        {
            context.Session.SetString("UserId", user);
            return context.Session.Id;
        });
        app.MapGet("/visit", (HttpContext context) => context.Session.SetInt32("Visits", (context.Session.GetInt32("Visits") ?? 0) + 1));
        app.MapGet("/who-am-i", (HttpContext context) => new[] { context.Session.GetString("UserId"), context.Session.GetInt32("Visits")?.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await app.StartAsync(Token);
        return app;
    }
}
