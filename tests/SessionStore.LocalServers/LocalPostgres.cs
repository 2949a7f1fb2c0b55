namespace SessionStore.LocalServers;

/// <summary>
/// A throw-away PostgreSQL server: a fresh cluster in a temporary directory, on a free loopback port,
/// deleted again on disposal. Durability is off unless asked for: nothing here outlives the process.
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    private readonly string _binDirectory;
    private readonly string _directory;

    private LocalPostgres(string binDirectory, string directory, int port)
    {
        _binDirectory = binDirectory;
        _directory = directory;
        Port = port;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>A connection string for the superuser <c>postgres</c> and the database <c>postgres</c>.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres";

    private string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>
    /// The directory holding <c>initdb</c> and <c>pg_ctl</c>: on PATH, or Debian's
    /// <c>/usr/lib/postgresql/N/bin</c> (newest first); null when PostgreSQL is not installed.
    /// </summary>
    public static string? FindBinaries()
    {
        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var version) ? version : 0)
                .Select(d => Path.Combine(d, "bin"))
            : [];
        var initdb = ProcessRunner.Find("initdb", debian);
        if (initdb is null)
        {
            return null;
        }

        // PATH may hold links to the tools; the directory that matters is the real one, beside pgbench and the rest.
        var real = new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(initdb);
        var directory = Path.GetDirectoryName(real)!;
        return File.Exists(Path.Combine(directory, "pg_ctl")) ? directory : null;
    }

    /// <summary>Creates a cluster and starts it; throws with the server's own output when that fails.</summary>
    /// <param name="binDirectory">Where <c>initdb</c> and <c>pg_ctl</c> are, from <see cref="FindBinaries"/>.</param>
    /// <param name="durable">Keep fsync and full-page writes on, as in production, for measurements of WAL volume.</param>
    /// <param name="cancellationToken">Stops waiting for the tools.</param>
    /// <param name="extraSettings">More server settings, each <c>name=value</c> (e.g. <c>shared_preload_libraries=pg_stat_statements</c>).</param>
    public static async Task<LocalPostgres> StartAsync(string binDirectory, bool durable = false, CancellationToken cancellationToken = default, IEnumerable<string>? extraSettings = null)
    {
        var directory = Directory.CreateTempSubdirectory("sessionstore-pg-").FullName;
        var server = new LocalPostgres(binDirectory, directory, FreePort.Next());
        try
        {
            if (ProcessRunner.UnprivilegedUser is { } user)
            {
                await ProcessRunner.RunAsync("chown", [user, directory], cancellationToken: cancellationToken);
            }

            await server.RunToolAsync("initdb", ["-D", server.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken);
            string[] settings = [$"-p {server.Port}", $"-k {directory}", "-c listen_addresses=127.0.0.1", "-c max_connections=1000"];
            if (!durable)
            {
                settings = [.. settings, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"];
            }

            settings = [.. settings, .. (extraSettings ?? []).Select(s => $"-c {s}")];

            await server.RunToolAsync("pg_ctl", ["-D", server.DataDirectory, "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60", "-o", string.Join(' ', settings), "start"], cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Hangs the server, as a stalled machine would (SIGSTOP to the postmaster and every backend): connections
    /// stay open and new ones are accepted by the kernel, and nothing answers.
    /// </summary>
    public Task PauseAsync() => ProcessSignals.SendAsync("STOP", ServerProcesses());

    /// <summary>Lets a paused server go on (SIGCONT to the postmaster and every backend).</summary>
    public Task ResumeAsync() => ProcessSignals.SendAsync("CONT", ServerProcesses());

    /// <summary>The postmaster first (so it forks no new backend meanwhile), then its children.</summary>
    private List<int> ServerProcesses()
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
        return [postmaster, .. ProcessSignals.ChildrenOf(postmaster)];
    }

    /// <summary>Stops the server at once and deletes its files.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                await RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None);
            }
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private Task RunToolAsync(string tool, string[] arguments, CancellationToken cancellationToken) =>
        ProcessRunner.RunAsync(Path.Combine(_binDirectory, tool), arguments, unprivileged: true, cancellationToken);
}
