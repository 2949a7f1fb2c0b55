using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.DualWrite;

/// <summary>
/// What a request sees when PostgreSQL refuses the application (an unknown login, as a wrong password would be) or
/// is unreachable, in the phases that read it: the behaviour docs/migration-guide.md ("When a store fails") describes.
/// On Kestrel, not the test host, so that an unhandled exception becomes the 500 a browser would see.
/// </summary>
public sealed class StoreFailureBehaviourTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> Failures => ["refused login", "unreachable"];

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task PostgresOnly_awaiting_LoadAsync_without_a_catch_answers_500(string failure)
    {
        await using var app = await StartAppAsync("PostgresOnly", failure);

        using var response = await SendAsync(app, "/load-uncaught");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task PostgresOnly_with_the_documented_guard_answers_503_and_the_exception_is_the_drivers(string failure)
    {
        await using var app = await StartAppAsync("PostgresOnly", failure);

        using var response = await SendAsync(app, "/guarded");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var exception = await response.Content.ReadAsStringAsync(Token);
        Assert.Equal(failure == "refused login" ? nameof(PostgresException) : nameof(NpgsqlException), exception);
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task PostgresOnly_loading_synchronously_answers_200_with_an_unavailable_session_that_saves_nothing(string failure)
    {
        await using var app = await StartAppAsync("PostgresOnly", failure);

        using var first = await SendAsync(app, "/visit-sync");
        using var second = await SendAsync(app, "/visit-sync", CookieOf(first));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("visits 1, available False", await first.Content.ReadAsStringAsync(Token));
        Assert.Equal("visits 1, available False", await second.Content.ReadAsStringAsync(Token));
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task DualWriteRedisPrimary_serves_sessions_from_Redis_while_PostgreSQL_fails(string failure)
    {
        await using var app = await StartAppAsync("DualWriteRedisPrimary", failure);

        using var first = await SendAsync(app, "/load-uncaught");
        using var second = await SendAsync(app, "/load-uncaught", CookieOf(first));

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("visits 2", await second.Content.ReadAsStringAsync(Token));
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task DualWritePostgresPrimary_fails_like_PostgresOnly_unless_reads_fail_over(string failure)
    {
        await using var plain = await StartAppAsync("DualWritePostgresPrimary", failure);
        await using var failover = await StartAppAsync("DualWritePostgresPrimary", failure, failoverReads: true);

        using var failed = await SendAsync(plain, "/load-uncaught");
        using var answered = await SendAsync(failover, "/load-uncaught");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("visits 1", await answered.Content.ReadAsStringAsync(Token));
    }

    private async Task<WebApplication> StartAppAsync(string phase, string failure, bool failoverReads = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionStore:Phase"] = phase,
            ["SessionStore:Postgres:ConnectionString"] = FailingConnectionString(failure),
            ["SessionStore:Postgres:TableName"] = PostgresServer.UniqueTableName("fail"),
            ["SessionStore:Redis:Configuration"] = redis.Configuration + ",abortConnect=false",
            ["SessionStore:Redis:InstanceName"] = $"fail-{Guid.NewGuid():N}:",
            ["SessionStore:FailoverReadsToSecondary"] = failoverReads ? "true" : "false",
            ["SessionStore:SecondaryTimeout"] = "00:00:01",
        });
        builder.Services.AddDualWriteSessionStore(builder.Configuration.GetSection("SessionStore"));
        builder.Services.AddSession();

        var app = builder.Build();
        app.UseSession();
        app.MapGet("/load-uncaught", async (HttpContext context) =>
        {
            await context.Session.LoadAsync(context.RequestAborted);
            return Visit(context);
        });
        app.MapGet("/visit-sync", (HttpContext context) => $"{Visit(context)}, available {context.Session.IsAvailable}");
        app.MapGet("/guarded", async (HttpContext context) =>
        {
            // The guard docs/migration-guide.md recommends, reporting the exception's type instead of logging it.
            try
            {
                await context.Session.LoadAsync(context.RequestAborted);
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
            {
                return Results.Text(e.GetType().Name, statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            return Results.Text(Visit(context));
        });
        await app.StartAsync(Token);
        return app;
    }

    private static string Visit(HttpContext context)
    {
        var visits = (context.Session.GetInt32("Visits") ?? 0) + 1;
        context.Session.SetInt32("Visits", visits);
        return $"visits {visits}";
    }

    private string FailingConnectionString(string failure)
    {
        var connection = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Timeout = 5 };
        if (failure == "refused login")
        {
            // The test servers trust every login, so a role that does not exist stands in for a wrong password:
            // both are refused by the server when the connection opens (SQLSTATE 28000 / 28P01).
            connection.Username = "no_such_role_" + Guid.NewGuid().ToString("N")[..8];
        }
        else
        {
            connection.Host = "127.0.0.1";
            connection.Port = ClosedPort();
        }

        return connection.ConnectionString;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<HttpResponseMessage> SendAsync(WebApplication app, string path, string? cookie = null)
    {
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        return await client.SendAsync(request, Token);
    }

    private static string? CookieOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies.Single().Split(';')[0] : null;
}
