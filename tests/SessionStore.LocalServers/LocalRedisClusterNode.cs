using System.Diagnostics;

namespace SessionStore.LocalServers;

/// <summary>
/// One redis-server of a <see cref="LocalRedisCluster"/>: cluster mode, no persistence, its own loopback port, bus
/// port and temporary directory (which keeps its <c>nodes.conf</c>, so a restarted node rejoins under the same id).
/// </summary>
public sealed class LocalRedisClusterNode
{
    private readonly string _binary;
    private readonly string _directory;
    private readonly TimeSpan _nodeTimeout;
    private Process? _process;

    internal LocalRedisClusterNode(string binary, string directory, int port, int busPort, TimeSpan nodeTimeout)
    {
        _binary = binary;
        _directory = directory;
        _nodeTimeout = nodeTimeout;
        Port = port;
        BusPort = busPort;
    }

    /// <summary>The loopback port clients connect to.</summary>
    public int Port { get; }

    /// <summary>The cluster bus port; set explicitly because the default (port + 10000) overflows for ephemeral ports.</summary>
    public int BusPort { get; }

    /// <summary>The node's endpoint, <c>127.0.0.1:port</c>.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Whether the process runs (it may be paused).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Whether the node was paused with <see cref="PauseAsync"/> and not resumed.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>The cluster's id of this node, known once the node started.</summary>
    public string Id { get; internal set; } = "";

    internal string Directory => _directory;

    /// <summary>Kills the node at once (SIGKILL), as a crash would; without persistence, its data is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            if (IsPaused)
            {
                // A stopped process does not die of SIGKILL until it runs again on some kernels' schedulers; be sure.
                await ProcessSignals.SendAsync("CONT", [process.Id]);
                IsPaused = false;
            }

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Hangs the node (SIGSTOP): it keeps its connections and answers nothing, to clients and to the cluster bus.</summary>
    public async Task PauseAsync()
    {
        await ProcessSignals.SendAsync("STOP", [Pid]);
        IsPaused = true;
    }

    /// <summary>Lets a paused node go on (SIGCONT).</summary>
    public async Task ResumeAsync()
    {
        await ProcessSignals.SendAsync("CONT", [Pid]);
        IsPaused = false;
    }

    /// <summary>Starts a killed node again, empty, on the same ports and with the same cluster identity.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartAsync(cancellationToken);

    private int Pid => _process?.Id ?? throw new InvalidOperationException($"The node on port {Port} is not running.");

    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var arguments = new[]
        {
            "--port", $"{Port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--daemonize", "no",
            "--cluster-enabled", "yes", "--cluster-port", $"{BusPort}", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", $"{(long)_nodeTimeout.TotalMilliseconds}",
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_binary}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await PortProbe.WaitUntilRedisAnswersAsync(process, "redis-server (cluster node)", Port, TimeSpan.FromSeconds(30), () => output, cancellationToken);
    }
}
