namespace SessionStore.Tests.Cluster;

/// <summary>The topology tests run alone and one after another: they change the cluster under traffic and measure it.</summary>
[CollectionDefinition(nameof(ClusterTopologyCollection), DisableParallelization = true)]
public sealed class ClusterTopologyCollection : ICollectionFixture<ClusterTopologyServers>;
