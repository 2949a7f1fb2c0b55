using SessionStore.Redis;
using SessionStore.Redis.Internal;
using StackExchange.Redis;

namespace SessionStore.Migration.Internal;

/// <summary>Reads a Redis deployment's <see cref="SourceTopology"/> and the primaries to scan, asking every node about itself.</summary>
internal static class ClusterTopology
{

    /// <summary>
    /// The topology now, and one server per primary. On a single server: <see cref="SourceTopology.Fixed"/> and the
    /// server. On a cluster the primaries are those that say so themselves, not the client's last view, which lags a
    /// failover; a primary that serves slots but cannot be reached leaves the topology unsettled.
    /// </summary>
    public static async Task<(SourceTopology Topology, IReadOnlyList<IServer> Primaries)> ReadAsync(IConnectionMultiplexer connection)
    {
        var servers = connection.GetServers().Where(server => server.IsConnected).ToArray();
        if (!servers.Any(server => server.ServerType == ServerType.Cluster))
        {
            // A primary the connection lost (or, borrowed, never reached) would read as one holding no sessions.
            return servers.Where(server => !server.IsReplica).ToArray() is { Length: > 0 } connected
                ? (SourceTopology.Fixed, connected)
                : throw new RedisSessionCacheException(
                    $"Redis could not be reached: no primary among {EndpointNames.Describe(connection.GetEndPoints())} is connected (a replica alone is not scanned: name the primary).");
        }

        // CLUSTER NODES is an admin command for StackExchange.Redis (refused without allowAdmin, which an application's
        // connection rarely has), but the client asks every node for it itself when it reconfigures: read those answers.
        await connection.ConfigureAsync().ConfigureAwait(false);
        var selves = new Dictionary<string, ClusterNodeLine>(StringComparer.Ordinal);
        var primaries = new List<IServer>();
        var slotOwners = new HashSet<string>(StringComparer.Ordinal);
        var allAnswered = true;
        foreach (var server in connection.GetServers().Where(server => server.IsConnected))
        {
            if (server.ClusterConfiguration is not { } configuration)
            {
                allAnswered = false; // a node that did not answer the discovery: the topology is moving
                continue;
            }

            var lines = configuration.Nodes.Select(node => ClusterNodeLine.Parse(node.Raw)).OfType<ClusterNodeLine>().ToList();
            if (lines.Find(line => line.IsMyself) is not { } self || !selves.TryAdd(self.Id, self))
            {
                continue; // the same node under a second address (a seed name and the address it announces)
            }

            if (self.IsPrimary)
            {
                primaries.Add(server);
            }

            slotOwners.UnionWith(lines.Where(line => line.IsPrimary && line.ServesSlots).Select(line => line.Id));
        }

        var reached = selves.Values.Where(self => self.IsPrimary).Select(self => self.Id);
        var everyOwnerReached = slotOwners.IsSubsetOf(reached);
        var settled = allAnswered && everyOwnerReached && !selves.Values.Any(self => self.Migrating);

        // An unsettled start never matches a settled end, even if the nodes that answered look the same.
        var fingerprint = (settled ? "" : "unsettled\n") + string.Join('\n', selves.Values.Select(self => self.Normalized).Order(StringComparer.Ordinal));
        return (new SourceTopology(fingerprint, settled, CanChange: true), primaries);
    }
}
