using SessionStore.Tests.TestServers;

[assembly: AssemblyFixture(typeof(PostgresServer))]
