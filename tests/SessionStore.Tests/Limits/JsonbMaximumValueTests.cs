using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using SessionStore.Internal;
using SessionStore.Postgres;
using SessionStore.Tests.Internal;
using SessionStore.Tests.Postgres;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Limits;

/// <summary>
/// JSONB holds values of exactly its promised maximum (200,000,000 bytes). Takes a minute or so and a few GB of
/// memory, so it runs alone, after the parallel tests, where it slows no timing-sensitive test.
/// </summary>
[Collection(nameof(LargeValueCollection))]
public sealed class JsonbMaximumValueTests(PostgresServer server, ITestOutputHelper output)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task JSONB_holds_values_of_exactly_its_maximum_size_binary_and_text()
    {
        // Moving 200 MB takes seconds: far past the default OperationTimeout, which is meant for sessions.
        using var table = new PostgresTestTable(server, o =>
        {
            o.MaximumValueSize = JsonPayloadCodec.MaximumPayloadSize;
            o.OperationTimeout = TimeSpan.FromMinutes(2);
        });
        var binary = new byte[JsonPayloadCodec.MaximumPayloadSize];
        new Random(11).NextBytes(binary);
        var text = Enumerable.Repeat((byte)'a', JsonPayloadCodec.MaximumPayloadSize - 20 - 2 - 1 - 4).ToArray();
        var session = new TestSessionPayload(new byte[16], [new("k", text)]).ToBytes();
        Assert.Equal(JsonPayloadCodec.MaximumPayloadSize, session.Length);

        foreach (var (name, value) in new[] { ("binary", binary), ("text session", session) })
        {
            var key = Guid.NewGuid().ToString();
            var watch = Stopwatch.StartNew();
            await table.Cache.SetAsync(key, value, new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(1) }, Token);
            var written = watch.Elapsed;
            var read = await table.Cache.GetAsync(key, Token);
            output.WriteLine($"JSONB {name} of {value.Length:N0} bytes: Set {written.TotalSeconds:F1} s, Get {(watch.Elapsed - written).TotalSeconds:F1} s");
            Assert.True(value.AsSpan().SequenceEqual(read), $"the {name} value came back different");
            await table.Cache.RemoveAsync(key, Token);
        }

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            table.Cache.SetAsync(Guid.NewGuid().ToString(), new byte[JsonPayloadCodec.MaximumPayloadSize + 1], new DistributedCacheEntryOptions(), Token));
    }
}

[CollectionDefinition(nameof(LargeValueCollection), DisableParallelization = true)]
public sealed class LargeValueCollection;
