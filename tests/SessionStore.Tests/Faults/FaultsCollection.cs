namespace SessionStore.Tests.Faults;

/// <summary>The fault tests share their own servers and run one at a time: a hung server is hung for every test on it.</summary>
[CollectionDefinition(nameof(FaultsCollection), DisableParallelization = true)]
public sealed class FaultsCollection : ICollectionFixture<FaultServers>;
