using System.Diagnostics;
using System.Net.Sockets;

namespace SessionStore.LocalServers;

/// <summary>
/// A throw-away Redis server on a free loopback port, without persistence, working in a temporary
/// directory; killed and deleted on disposal.
/// </summary>
public sealed class LocalRedis : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private LocalRedis(Process process, string directory, int port)
    {
        _process = process;
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
        var directory = Directory.CreateTempSubdirectory("sessionstore-redis-").FullName;
        var port = FreePort.Next();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", $"{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {binary}.");
        var server = new LocalRedis(process, directory, port);
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await server.AcceptsConnectionsAsync(cancellationToken))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"redis-server did not start on port {port}:\n{(process.HasExited ? await output : "(still running)")}");
            }

            await Task.Delay(50, cancellationToken);
        }

        return server;
    }

    /// <summary>Kills the server and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<bool> AcceptsConnectionsAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
