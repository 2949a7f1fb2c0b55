using System.Diagnostics;

namespace SessionStore.LocalServers;

/// <summary>
/// A throw-away Redis server on a free loopback port, without persistence, working in a temporary
/// directory; killed and deleted on disposal.
/// </summary>
public sealed class LocalRedis : IAsyncDisposable
{
    private readonly string _binary;
    private readonly string _directory;
    private Process? _process;

    private LocalRedis(string binary, string directory, int port)
    {
        _binary = binary;
        _directory = directory;
        Port = port;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for the server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>The path of <c>redis-server</c> on PATH, or null when Redis is not installed.</summary>
    public static string? FindBinary() => ProcessRunner.Find("redis-server", "/usr/bin", "/usr/local/bin");

    /// <summary>Starts a server and waits until it accepts connections.</summary>
    public static async Task<LocalRedis> StartAsync(string binary, CancellationToken cancellationToken = default)
    {
        var server = new LocalRedis(binary, Directory.CreateTempSubdirectory("sessionstore-redis-").FullName, FreePort.Next());
        try
        {
            await server.StartProcessAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the server at once, as a crash would: without persistence, its data is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Hangs the server, as a stalled machine would (SIGSTOP): it keeps its connections and accepts new ones, and answers nothing.</summary>
    public Task PauseAsync() => ProcessSignals.SendAsync("STOP", [Pid]);

    /// <summary>Lets a paused server go on (SIGCONT), with everything it held.</summary>
    public Task ResumeAsync() => ProcessSignals.SendAsync("CONT", [Pid]);

    private int Pid => _process?.Id ?? throw new InvalidOperationException("The server is not running.");

    /// <summary>Starts the server again, empty, on the same port.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(cancellationToken);

    /// <summary>Kills the server and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", $"{Port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--daemonize", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_binary}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await PortProbe.WaitUntilListeningAsync(process, "redis-server", Port, TimeSpan.FromSeconds(30), () => output, cancellationToken);
    }
}
