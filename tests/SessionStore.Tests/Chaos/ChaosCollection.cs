namespace SessionStore.Tests.Chaos;

/// <summary>The chaos tests run alone: they measure latencies, and they hang servers.</summary>
[CollectionDefinition(nameof(ChaosCollection), DisableParallelization = true)]
public sealed class ChaosCollection : ICollectionFixture<ChaosServers>;
