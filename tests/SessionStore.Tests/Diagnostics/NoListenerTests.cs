using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using SessionStore.Diagnostics;
using SessionStore.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Diagnostics;

/// <summary>Without a listener on SessionStore's source no span is made: only a listener-check per call.</summary>
[Collection(nameof(TracingCollection))]
public sealed class NoListenerTests(PostgresServer postgres)
{
    [Fact]
    public async Task Without_a_listener_no_SessionStore_activity_is_created_and_Npgsqls_span_has_no_SessionStore_parent()
    {
        var token = TestContext.Current.CancellationToken;
        using var cache = new PostgresSessionCache(new PostgresSessionCacheOptions { ConnectionString = postgres.ConnectionString, TableName = PostgresServer.UniqueTableName("quiet"), CreateTableIfMissing = true });
        await cache.SetAsync("warm-up", [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(1) }, token);
        using var trace = new TraceRecorder("Npgsql");

        Assert.False(SessionStoreActivities.Source.HasListeners());
        Assert.Null(SessionStoreActivities.StartStoreCall("postgresql", "get", "public.sessions"));
        Assert.Null(SessionStoreActivities.StartOperation("get", SessionStorePhase.DualWriteRedisPrimary));
        Assert.NotNull(await cache.GetAsync("warm-up", token));
        Assert.NotNull(cache.Get("warm-up"));

        var npgsql = trace.FromSource("Npgsql");
        Assert.NotEmpty(npgsql);
        Assert.DoesNotContain(trace.Activities, a => a.Source.Name == SessionStoreTracing.ActivitySourceName);
        Assert.All(npgsql, a => Assert.Equal(TraceRecorder.TestSourceName, a.Parent?.Source.Name));
    }
}
