using System.Globalization;

namespace SessionStore.LocalServers;

/// <summary>
/// A throw-away Redis Cluster on loopback: 3 masters and 3 replicas (redis-server in cluster mode, no persistence,
/// each in its own temporary directory), created with <c>redis-cli --cluster create</c>. Helpers move slots, fail
/// over, kill and hang nodes, as an operator or an outage would. Everything is killed and deleted on disposal.
/// </summary>
public sealed class LocalRedisCluster : IAsyncDisposable
{
    /// <summary>The number of hash slots of every Redis Cluster.</summary>
    public const int SlotCount = 16384;

    private static readonly TimeSpan HealthLimit = TimeSpan.FromSeconds(60);

    private readonly string _cli;
    private readonly string _directory;
    private readonly List<LocalRedisClusterNode> _nodes;

    private LocalRedisCluster(string cli, string directory, List<LocalRedisClusterNode> nodes)
    {
        _cli = cli;
        _directory = directory;
        _nodes = nodes;
    }

    /// <summary>Every node, masters and replicas, in start order (roles change with failovers: ask <see cref="MastersAsync"/>).</summary>
    public IReadOnlyList<LocalRedisClusterNode> Nodes => _nodes;

    /// <summary>Every node's endpoint, <c>127.0.0.1:port</c>.</summary>
    public IReadOnlyList<string> Endpoints => [.. _nodes.Select(n => n.Endpoint)];

    /// <summary>A StackExchange.Redis configuration string listing every node, so any one of them can seed discovery.</summary>
    public string Configuration => string.Join(',', Endpoints);

    /// <summary>The node timeout the nodes run with: how long a silent master takes to be failed over.</summary>
    public TimeSpan NodeTimeout { get; private init; }

    /// <summary>The path of <c>redis-server</c> on PATH, or null when Redis is not installed.</summary>
    public static string? FindBinary() => LocalRedis.FindBinary();

    /// <summary>The path of <c>redis-cli</c> beside <paramref name="serverBinary"/> or on PATH, or null.</summary>
    public static string? FindCli(string serverBinary) =>
        ProcessRunner.Find("redis-cli", Path.GetDirectoryName(serverBinary) ?? "/usr/bin", "/usr/bin", "/usr/local/bin");

    /// <summary>
    /// Starts six nodes, creates the cluster (3 masters, one replica each) and waits until every node says
    /// <c>cluster_state:ok</c>, agrees on the slot map and every replica has synced.
    /// </summary>
    /// <param name="binary">The redis-server binary (7.0 or later, for <c>cluster-port</c>).</param>
    /// <param name="nodeTimeout">The <c>cluster-node-timeout</c>; 5 s by default, so a killed master fails over in seconds.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<LocalRedisCluster> StartAsync(string binary, TimeSpan? nodeTimeout = null, CancellationToken cancellationToken = default)
    {
        // Twelve ports are picked free and bound a moment later; meanwhile another test's outgoing connection may
        // take one of them as its ephemeral port. And on a machine loaded by other tests, a new cluster once stayed
        // unhealthy (CLUSTERDOWN) for the whole wait. Such a start is retried, on fresh ports and directories.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(binary, nodeTimeout, cancellationToken);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
            }
            catch (TimeoutException) when (attempt < 2)
            {
            }
        }
    }

    private static async Task<LocalRedisCluster> StartOnceAsync(string binary, TimeSpan? nodeTimeout, CancellationToken cancellationToken)
    {
        var cli = FindCli(binary) ?? throw new InvalidOperationException($"No redis-cli beside {binary} or on PATH.");
        var directory = System.IO.Directory.CreateTempSubdirectory("sessionstore-redis-cluster-").FullName;
        var timeout = nodeTimeout ?? TimeSpan.FromSeconds(5);
        var nodes = new List<LocalRedisClusterNode>();
        for (var i = 0; i < 6; i++)
        {
            var nodeDirectory = System.IO.Directory.CreateDirectory(Path.Combine(directory, $"node{i}")).FullName;
            nodes.Add(new LocalRedisClusterNode(binary, nodeDirectory, FreePort.Next(), FreePort.Next(), timeout));
        }

        var cluster = new LocalRedisCluster(cli, directory, nodes) { NodeTimeout = timeout };
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync(cancellationToken)));
            foreach (var node in nodes)
            {
                node.Id = (await cluster.CommandAsync(node, ["CLUSTER", "MYID"], cancellationToken)).Trim();
            }

            await cluster.CliAsync(["--cluster", "create", .. cluster.Endpoints, "--cluster-replicas", "1", "--cluster-yes"], cancellationToken);
            await cluster.WaitUntilHealthyAsync(cancellationToken: cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The nodes that serve slots now, as the running nodes themselves say.</summary>
    public async Task<IReadOnlyList<LocalRedisClusterNode>> MastersAsync(CancellationToken cancellationToken = default) =>
        await NodesWithRoleAsync("master", cancellationToken);

    /// <summary>The running replicas now.</summary>
    public async Task<IReadOnlyList<LocalRedisClusterNode>> ReplicasAsync(CancellationToken cancellationToken = default) =>
        await NodesWithRoleAsync("slave", cancellationToken);

    /// <summary>The replica of <paramref name="master"/>.</summary>
    public async Task<LocalRedisClusterNode> ReplicaOfAsync(LocalRedisClusterNode master, CancellationToken cancellationToken = default)
    {
        foreach (var replica in await ReplicasAsync(cancellationToken))
        {
            var line = OwnLine(await CommandAsync(replica, ["CLUSTER", "NODES"], cancellationToken));
            if (line.Split(' ')[3] == master.Id)
            {
                return replica;
            }
        }

        throw new InvalidOperationException($"The master on port {master.Port} has no replica.");
    }

    /// <summary>How many slots <paramref name="master"/> serves.</summary>
    public async Task<int> SlotCountOfAsync(LocalRedisClusterNode master, CancellationToken cancellationToken = default)
    {
        var line = OwnLine(await CommandAsync(master, ["CLUSTER", "NODES"], cancellationToken));
        return line.Split(' ').Skip(8).Where(r => !r.StartsWith('[')).Sum(range =>
        {
            var bounds = range.Split('-');
            return bounds.Length == 1 ? 1 : int.Parse(bounds[1], CultureInfo.InvariantCulture) - int.Parse(bounds[0], CultureInfo.InvariantCulture) + 1;
        });
    }

    /// <summary>
    /// Moves <paramref name="slots"/> slots and their keys from one master to another with
    /// <c>redis-cli --cluster reshard</c> (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE), as an operator
    /// would under traffic; returns once the cluster is healthy again.
    /// </summary>
    public async Task ReshardAsync(int slots, LocalRedisClusterNode from, LocalRedisClusterNode to, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slots);
        await CliAsync(
            ["--cluster", "reshard", from.Endpoint, "--cluster-from", from.Id, "--cluster-to", to.Id,
             "--cluster-slots", slots.ToString(CultureInfo.InvariantCulture), "--cluster-yes", "--cluster-pipeline", "100"],
            cancellationToken);
        await WaitUntilHealthyAsync(cancellationToken: cancellationToken);
    }

    /// <summary>
    /// A manual failover (<c>CLUSTER FAILOVER</c> on <paramref name="replica"/>): its master stops writes, the replica
    /// catches up and takes over, the old master becomes its replica. Returns once the cluster is healthy again.
    /// </summary>
    public async Task FailoverAsync(LocalRedisClusterNode replica, CancellationToken cancellationToken = default)
    {
        var answer = (await CommandAsync(replica, ["CLUSTER", "FAILOVER"], cancellationToken)).Trim();
        if (answer != "OK")
        {
            throw new InvalidOperationException($"CLUSTER FAILOVER on port {replica.Port} answered: {answer}");
        }

        await WaitUntilAsync(
            async () => await RoleAsync(replica, cancellationToken) == "master" ? null : $"the node on port {replica.Port} is not a master yet",
            "the replica to take over",
            cancellationToken);
        await WaitUntilHealthyAsync(cancellationToken: cancellationToken);
    }

    /// <summary>Kills <paramref name="master"/> with SIGKILL; its replica takes over once the node timeout passes.</summary>
    public Task KillMasterAsync(LocalRedisClusterNode master) => master.KillAsync();

    /// <summary>Hangs <paramref name="node"/> (SIGSTOP).</summary>
    public Task PauseAsync(LocalRedisClusterNode node) => node.PauseAsync();

    /// <summary>Resumes a hung <paramref name="node"/> (SIGCONT).</summary>
    public Task ResumeAsync(LocalRedisClusterNode node) => node.ResumeAsync();

    /// <summary>
    /// Waits until every running node says <c>cluster_state:ok</c>, <c>redis-cli --cluster check</c> finds all slots
    /// covered and agreed on with no slot open, and every running replica's link to its master is up.
    /// </summary>
    /// <param name="limit">How long to wait before <see cref="TimeoutException"/>; 60 s by default.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task WaitUntilHealthyAsync(TimeSpan? limit = null, CancellationToken cancellationToken = default) =>
        await WaitUntilAsync(() => UnhealthyBecauseAsync(cancellationToken), "the cluster to be healthy", cancellationToken, limit);

    /// <summary>Sends one command to <paramref name="node"/> through redis-cli and returns its raw answer.</summary>
    public Task<string> CommandAsync(LocalRedisClusterNode node, IEnumerable<string> command, CancellationToken cancellationToken = default) =>
        CliAsync(["-h", "127.0.0.1", "-p", node.Port.ToString(CultureInfo.InvariantCulture), .. command], cancellationToken);

    /// <summary>Kills every node and deletes their directories.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.KillAsync();
        }

        System.IO.Directory.Delete(_directory, recursive: true);
    }

    private static string OwnLine(string clusterNodes) =>
        clusterNodes.Split('\n').Single(l => l.Split(' ') is { Length: > 2 } fields && fields[2].Contains("myself", StringComparison.Ordinal));

    private async Task<string> RoleAsync(LocalRedisClusterNode node, CancellationToken cancellationToken)
    {
        var flags = OwnLine(await CommandAsync(node, ["CLUSTER", "NODES"], cancellationToken)).Split(' ')[2].Split(',');
        return flags.Contains("master") ? "master" : flags.Contains("slave") ? "slave" : string.Join(',', flags);
    }

    private async Task<IReadOnlyList<LocalRedisClusterNode>> NodesWithRoleAsync(string role, CancellationToken cancellationToken)
    {
        var found = new List<LocalRedisClusterNode>();
        foreach (var node in _nodes.Where(n => n.IsRunning && !n.IsPaused))
        {
            if (await RoleAsync(node, cancellationToken) == role)
            {
                found.Add(node);
            }
        }

        return found;
    }

    /// <summary>What keeps the cluster from being healthy now, or null when nothing does.</summary>
    private async Task<string?> UnhealthyBecauseAsync(CancellationToken cancellationToken)
    {
        try
        {
            var live = _nodes.Where(n => n.IsRunning && !n.IsPaused).ToList();
            foreach (var node in live)
            {
                var info = await CommandAsync(node, ["CLUSTER", "INFO"], cancellationToken);
                if (!info.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return $"the node on port {node.Port} says: {Lines(info, "cluster_state", "cluster_slots_ok", "cluster_known_nodes", "cluster_current_epoch")}";
                }

                if (await RoleAsync(node, cancellationToken) == "slave")
                {
                    var replication = await CommandAsync(node, ["INFO", "replication"], cancellationToken);
                    if (!replication.Contains("master_link_status:up", StringComparison.Ordinal)
                        || replication.Contains("master_sync_in_progress:1", StringComparison.Ordinal))
                    {
                        return $"the replica on port {node.Port} says: {Lines(replication, "master_port", "master_link_status", "master_sync_in_progress", "master_link_down_since_seconds")}";
                    }
                }
            }

            // Exits non-zero when a slot is uncovered, open (migrating/importing) or when nodes disagree on the map.
            var check = await CliAsync(["--cluster", "check", live[0].Endpoint], cancellationToken);
            return check.Contains("All nodes agree about slots configuration", StringComparison.Ordinal)
                && check.Contains($"All {SlotCount} slots covered", StringComparison.Ordinal)
                ? null
                : $"redis-cli --cluster check says: {check}";
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }

        static string Lines(string answer, params string[] fields) =>
            string.Join(", ", answer.Split('\n').Select(l => l.Trim()).Where(l => fields.Any(f => l.StartsWith(f + ":", StringComparison.Ordinal))));
    }

    private async Task WaitUntilAsync(Func<Task<string?>> stillWrong, string what, CancellationToken cancellationToken, TimeSpan? limit = null)
    {
        var wait = limit ?? HealthLimit;
        var deadline = DateTime.UtcNow + wait;
        while (await stillWrong() is { } wrong)
        {
            if (DateTime.UtcNow > deadline)
            {
                var nodes = _nodes.FirstOrDefault(n => n.IsRunning && !n.IsPaused) is { } any
                    ? await CommandAsync(any, ["CLUSTER", "NODES"], cancellationToken)
                    : "(no node runs)";
                throw new TimeoutException($"Waited {wait.TotalSeconds:0} s for {what}; at the end, {wrong}\nCLUSTER NODES says:\n{nodes}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private Task<string> CliAsync(IEnumerable<string> arguments, CancellationToken cancellationToken) =>
        ProcessRunner.RunAsync(_cli, arguments, cancellationToken: cancellationToken);
}
