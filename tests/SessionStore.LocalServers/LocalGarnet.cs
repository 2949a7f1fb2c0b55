using System.Diagnostics;

namespace SessionStore.LocalServers;

/// <summary>
/// A throw-away Microsoft Garnet server (the <c>garnet-server</c> dotnet tool) on a free loopback port, in memory
/// only (no AOF, no storage tier, no checkpoints), with or without Lua scripting; killed on disposal.
/// </summary>
public sealed class LocalGarnet : IAsyncDisposable
{
    /// <summary>The version scripts/install-servers.sh and <see cref="InstallAsync"/> install.</summary>
    public const string Version = "2.2.8";

    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private readonly string _binary;
    private readonly string _directory;
    private readonly bool _lua;
    private Process? _process;

    private LocalGarnet(string binary, string directory, int port, bool lua)
    {
        _binary = binary;
        _directory = directory;
        _lua = lua;
        Port = port;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for the server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Where the tool is installed: <c>artifacts/tools/garnet</c> under the repository, or null outside one.</summary>
    public static string? ToolDirectory() =>
        FindRepositoryRoot() is { } root ? Path.Combine(root, "artifacts", "tools", "garnet") : null;

    /// <summary>The path of <c>garnet-server</c> in <see cref="ToolDirectory"/>, on PATH or in ~/.dotnet/tools; null when not installed.</summary>
    public static string? FindBinary()
    {
        var extra = new List<string>();
        if (ToolDirectory() is { } tools)
        {
            extra.Add(tools);
        }

        extra.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools"));
        return ToolDirectory() is { } own && File.Exists(Path.Combine(own, "garnet-server"))
            ? Path.Combine(own, "garnet-server")
            : ProcessRunner.Find("garnet-server", extra);
    }

    /// <summary>Installs the tool into <see cref="ToolDirectory"/> when it is not found (once per process), and returns its path.</summary>
    public static async Task<string> InstallAsync(CancellationToken cancellationToken = default)
    {
        await InstallLock.WaitAsync(cancellationToken);
        try
        {
            if (FindBinary() is { } found)
            {
                return found;
            }

            var directory = ToolDirectory() ?? throw new InvalidOperationException("garnet-server is not installed and no repository root was found to install it under.");
            await ProcessRunner.RunAsync("dotnet", ["tool", "install", "--tool-path", directory, "garnet-server", "--version", Version], cancellationToken: cancellationToken);
            return FindBinary() ?? throw new InvalidOperationException($"dotnet tool install put no garnet-server in {directory}.");
        }
        finally
        {
            InstallLock.Release();
        }
    }

    /// <summary>Starts a server and waits until it accepts connections; <paramref name="lua"/> passes <c>--lua</c>.</summary>
    public static async Task<LocalGarnet> StartAsync(string binary, bool lua, CancellationToken cancellationToken = default)
    {
        var server = new LocalGarnet(binary, Directory.CreateTempSubdirectory("sessionstore-garnet-").FullName, FreePort.Next(), lua);
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

    /// <summary>Kills the server and deletes its working directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
        Directory.Delete(_directory, recursive: true);
    }

    private static string? FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SessionStore.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        // Small memory and index so a test run does not reserve Garnet's 16 GB default log; nothing is persisted.
        var arguments = new List<string> { "--port", $"{Port}", "--bind", "127.0.0.1", "--memory", "256m", "--index", "16m", "--logger-level", "Warning" };
        if (_lua)
        {
            arguments.Add("--lua");
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_binary}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await PortProbe.WaitUntilListeningAsync(process, "garnet-server", Port, TimeSpan.FromSeconds(60), async () => await output + await error, cancellationToken);
    }
}
