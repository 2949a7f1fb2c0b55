using System.Buffers;
using System.Text;
using CsCheck;
using SessionStore.Internal;

namespace SessionStore.Tests.Internal;

/// <summary>
/// The codec meets bytes an attacker chose: a value written through the cache, or a row edited in the database.
/// Whatever they are, it allocates in proportion to them and fails only with its documented exception.
/// </summary>
public sealed class JsonPayloadCodecHostileInputTests
{
    // Allocation allowed per input byte (output buffers grow by doubling, base64 expands 4/3) plus a fixed floor.
    private const long BytesPerInputByte = 16;
    private const long FixedAllowance = 64 * 1024;

    private static readonly string ValidSession = Encoding.UTF8.GetString(Encode(new TestSessionPayload(Guid.NewGuid().ToByteArray(),
    [
        new("UserId", "ada"u8.ToArray()),
        new("bin", [0, 1, 2, 255]),
        new("text", "é\"\\\t"u8.ToArray()),
    ]).ToBytes()));

    private static readonly byte[][] InvalidUtf8Strings =
    [
        [.. "{\"id\":\"00000000-0000-0000-0000-000000000000\",\"values\":{\"k\":\""u8, 0xC3, 0x28, .. "\"}}"u8],
        [.. "{\"id\":\"00000000-0000-0000-0000-000000000000\",\"values\":{\""u8, 0xFF, .. "\":\"v\"}}"u8],
        [.. "{\"id\":\""u8, 0xED, 0xA0, 0x80, .. "\",\"values\":{}}"u8],
        [.. "{\""u8, 0xC0, 0x80, .. "\":1}"u8],
    ];

    private static readonly byte[][] HostileSamples = new string[]
    {
        """{"id":"00000000-0000-0000-0000-000000000000","values":{"k":{"b64":"\u0041\u0041\u0041\u0041"}}}""",
        """{"id":"00000000-0000-0000-0000-000000000000","values":{"k":"\ud800"}}""",
        """{"id":"00000000-0000-0000-0000-000000000000","values":{"\ud800":"v"}}""",
        """{"id":"00000000-0000-0000-0000-000000000000","values":{"k":"v","k":"w"}}""",
        """{"id":"00000000-0000-0000-0000-000000000000","id":"00000000-0000-0000-0000-000000000001","values":{}}""",
        """{"values":{},"id":"00000000-0000-0000-0000-000000000000"}""",
        """{"b64":"AAAA","id":"x"}""",
        """{"b64":"AAAA"} trailing""",
        """{"b64":12}""",
        """{"b64":"===="}""",
        """{"id":"00000000-0000-0000-0000-000000000000","values":{"k":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}"""
    }.Select(s => Encoding.UTF8.GetBytes(s)).ToArray();

    private static readonly Gen<byte[]> HostileJson = Gen.OneOf(
        Gen.Byte.Array[0, 300],
        Gen.Int[0, ValidSession.Length].Select(n => Encoding.UTF8.GetBytes(ValidSession[..n])),
        Gen.Select(Gen.Int[0, ValidSession.Length - 1], Gen.Byte).Select((at, b) =>
        {
            var bytes = Encoding.UTF8.GetBytes(ValidSession);
            bytes[Math.Min(at, bytes.Length - 1)] = b;
            return bytes;
        }),
        Gen.Int[0, HostileSamples.Length - 1].Select(i => HostileSamples[i]),
        Gen.Int[0, 3].Select(i => InvalidUtf8Strings[i]));

    [Fact]
    public void A_24_byte_payload_claiming_16_million_entries_allocates_in_proportion_to_its_24_bytes()
    {
        var payload = new byte[24];
        payload[0] = SessionPayload.Revision;
        payload[1] = payload[2] = payload[3] = 0xFF;
        var json = new ArrayBufferWriter<byte>(1024);

        var allocated = Allocated(() => JsonPayloadCodec.Encode(payload, json));

        Assert.InRange(allocated, 0, FixedAllowance);
        var decoded = new ArrayBufferWriter<byte>();
        JsonPayloadCodec.Decode(json.WrittenSpan, decoded);
        Assert.Equal(payload, decoded.WrittenSpan.ToArray());
    }

    [Fact]
    public void Encoding_any_bytes_allocates_in_proportion_to_them() =>
        Gen.OneOf(
            Gen.Byte.Array[0, 4000],
            Gen.Select(Gen.Byte[0, 255], Gen.Byte[0, 255], Gen.Byte[0, 255], Gen.Byte.Array[16, 400])
                .Select((a, b, c, rest) => new byte[] { SessionPayload.Revision, a, b, c }.Concat(rest).ToArray()))
        .Sample(payload =>
        {
            var json = new ArrayBufferWriter<byte>(16);
            var allocated = Allocated(() => JsonPayloadCodec.Encode(payload, json));
            Assert.InRange(allocated, 0, (BytesPerInputByte * payload.Length) + FixedAllowance);
        }, iter: 5_000);

    [Fact]
    public void Decoding_hostile_json_allocates_in_proportion_to_it_and_fails_only_with_FormatException() =>
        HostileJson.Sample(json =>
        {
            var payload = new ArrayBufferWriter<byte>(16);
            Exception? failure = null;
            var allocated = Allocated(() =>
            {
                try
                {
                    JsonPayloadCodec.Decode(json, payload);
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });

            Assert.True(failure is null or FormatException, $"{failure?.GetType()}: {failure?.Message} for {Convert.ToHexString(json)}");
            Assert.InRange(allocated, 0, (BytesPerInputByte * json.Length) + FixedAllowance);
        }, iter: 20_000);

    [Fact]
    public void A_session_key_longer_than_its_16_bit_length_prefix_is_a_format_error()
    {
        var json = $$$"""{"id":"00000000-0000-0000-0000-000000000000","values":{"{{{new string('k', 70_000)}}}":"v"}}""";

        Assert.Throws<FormatException>(() => JsonPayloadCodec.Decode(Encoding.UTF8.GetBytes(json), new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void Text_with_control_characters_is_stored_as_base64_so_escaping_never_multiplies_it_six_fold()
    {
        var control = Enumerable.Repeat((byte)1, 10_000).ToArray();
        var session = new TestSessionPayload(new byte[16], [new("k", control)]).ToBytes();

        var json = Encode(session);

        Assert.InRange(json.Length, 0, (control.Length * 4 / 3) + 200);
        var decoded = new ArrayBufferWriter<byte>();
        JsonPayloadCodec.Decode(json, decoded);
        Assert.Equal(session, decoded.WrittenSpan.ToArray());
    }

    private static byte[] Encode(byte[] payload)
    {
        var json = new ArrayBufferWriter<byte>();
        JsonPayloadCodec.Encode(payload, json);
        return json.WrittenSpan.ToArray();
    }

    private static long Allocated(Action action)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
