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
/// The largest value each PostgreSQL payload format really holds, promised by the options and checked at that
/// size: JSONB stops at 200,000,000 bytes (whose base64 fits jsonb's 255 MiB limit on a string), bytea goes to
/// the shared 256 MiB maximum.
/// </summary>
public sealed class ValueSizeLimitTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void A_JSONB_cache_with_MaximumValueSize_256_MiB_is_refused_naming_the_JSONB_limit()
    {
        var options = new PostgresSessionCacheOptions { ConnectionString = "Host=127.0.0.1;Port=1", MaximumValueSize = 256 * 1024 * 1024 };

        var error = Assert.Throws<OptionsValidationException>(() => new PostgresSessionCache(options));

        var failure = Assert.Single(error.Failures);
        Assert.Contains("MaximumValueSize is 268435456", failure, StringComparison.Ordinal);
        Assert.Contains("at most 200000000 bytes", failure, StringComparison.Ordinal);
        Assert.Contains("Bytea", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bytea_cache_takes_MaximumValueSize_256_MiB_and_JSONB_takes_its_own_limit()
    {
        Assert.Empty(new PostgresSessionCacheOptions { ConnectionString = "Host=x", PayloadFormat = PostgresPayloadFormat.Bytea, MaximumValueSize = 256 * 1024 * 1024 }.Validate());
        Assert.Empty(new PostgresSessionCacheOptions { ConnectionString = "Host=x", MaximumValueSize = JsonPayloadCodec.MaximumPayloadSize }.Validate());
        Assert.Single(new PostgresSessionCacheOptions { ConnectionString = "Host=x", MaximumValueSize = JsonPayloadCodec.MaximumPayloadSize + 1 }.Validate());
    }

    [Fact]
    public void A_JSONB_value_of_the_maximum_size_encodes_and_a_text_value_too_long_for_System_Text_Json_goes_as_base64()
    {
        var json = new System.Buffers.ArrayBufferWriter<byte>();
        JsonPayloadCodec.Encode(new byte[JsonPayloadCodec.MaximumPayloadSize], json);
        Assert.Equal(((JsonPayloadCodec.MaximumPayloadSize + 2) / 3 * 4) + "{\"b64\":\"\"}".Length, json.WrittenCount);
        Assert.InRange(json.WrittenCount, 0, 0x0FFF_FFFF);

        // 166,666,667 bytes of text: one more than System.Text.Json writes as a string (it threw ArgumentException).
        var text = Enumerable.Repeat((byte)'a', 166_666_667).ToArray();
        var session = new TestSessionPayload(new byte[16], [new("k", text)]).ToBytes();
        json.ResetWrittenCount();
        JsonPayloadCodec.Encode(session, json);
        Assert.True(json.WrittenSpan.StartsWith("{\"b64\":"u8));
        var decoded = new System.Buffers.ArrayBufferWriter<byte>();
        JsonPayloadCodec.Decode(json.WrittenSpan, decoded);
        Assert.True(session.AsSpan().SequenceEqual(decoded.WrittenSpan));
    }
}
