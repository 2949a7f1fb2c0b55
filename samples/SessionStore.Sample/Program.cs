using SessionStore.LocalServers;

var builder = WebApplication.CreateBuilder(args);

// With no connection string configured, the sample runs against a throw-away local PostgreSQL server.
var connectionString = builder.Configuration["SessionStore:Postgres:ConnectionString"];
await using var localServer = string.IsNullOrEmpty(connectionString) ? await StartLocalPostgresAsync() : null;
connectionString = localServer?.ConnectionString ?? connectionString;

builder.Services.AddPostgresCache(options =>
{
    builder.Configuration.GetSection("SessionStore:Postgres").Bind(options);
    options.ConnectionString = connectionString;
    options.CreateTableIfMissing = true;
});
builder.Services.AddSession(options =>
{
    options.IdleTimeout = TimeSpan.FromMinutes(20);
    options.Cookie.IsEssential = true;
});

var app = builder.Build();
app.UseSession();

app.MapGet("/", (HttpContext context) =>
{
    var visits = (context.Session.GetInt32("Visits") ?? 0) + 1;
    context.Session.SetInt32("Visits", visits);
    var user = context.Session.GetString("UserId") ?? "anonymous";
    return $"Hello {user}: visit {visits} of this session, stored in PostgreSQL.\n";
});
app.MapGet("/sign-in", (HttpContext context, string user) =>
{
    context.Session.SetString("UserId", user);
    return $"Signed in as {user}.\n";
});
app.MapGet("/sign-out", (HttpContext context) =>
{
    context.Session.Clear();
    return "Signed out.\n";
});

await app.RunAsync();

static async Task<LocalPostgres> StartLocalPostgresAsync()
{
    var binaries = LocalPostgres.FindBinaries()
        ?? throw new InvalidOperationException(
            "No connection string in SessionStore:Postgres:ConnectionString and no PostgreSQL binaries to start a local server. " +
            "Set SessionStore__Postgres__ConnectionString, or install PostgreSQL (scripts/install-servers.sh).");
    var server = await LocalPostgres.StartAsync(binaries);
    Console.WriteLine($"Started a throw-away PostgreSQL server on 127.0.0.1:{server.Port}; it is deleted when the sample stops.");
    return server;
}
