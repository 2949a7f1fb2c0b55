using System.Buffers;
using System.Text;
using System.Text.Json;
using CsCheck;
using SessionStore.Internal;

namespace SessionStore.Tests.Internal;

public sealed class JsonPayloadCodecTests
{
    private static readonly Gen<string> Key = Gen.OneOf(
        Gen.String[Gen.Char.AlphaNumeric, 1, 20],
        Gen.String[Gen.Char, 0, 12],
        Gen.Const("UserId"),
        Gen.Const("Ключ🔑"));

    private static readonly Gen<byte[]> Value = Gen.OneOf(
        Gen.Byte.Array[0, 64],
        Gen.String[Gen.Char, 0, 40].Select(s => Encoding.UTF8.GetBytes(s)),
        Gen.Int.Select(i => BitConverter.GetBytes(i).Reverse().ToArray()),
        Gen.Const(new byte[] { 0 }),
        Gen.Const("a\0b"u8.ToArray()),
        Gen.Const(new byte[] { 0xC3, 0x28 }));

    public static readonly Gen<TestSessionPayload> Session =
        Gen.Select(
            Gen.Byte.Array[16],
            Gen.Dictionary(Key, Value)[0, 30],
            (id, map) => new TestSessionPayload(id, map.ToList()));

    [Fact]
    public void Random_bytes_round_trip_exactly() =>
        Gen.Byte.Array[0, 2000].Sample(bytes => Assert.Equal(bytes, RoundTrip(bytes)), iter: 5_000);

    [Fact]
    public void Random_bytes_that_start_like_a_session_round_trip_exactly() =>
        Gen.Select(Gen.Byte.Array[0, 200], Gen.Byte[0, 3]).Sample((tail, count) =>
        {
            var bytes = new byte[] { 2, 0, 0, count }.Concat(new byte[16]).Concat(tail).ToArray();
            Assert.Equal(bytes, RoundTrip(bytes));
        }, iter: 5_000);

    [Fact]
    public void Random_sessions_round_trip_with_the_same_id_and_map() =>
        Session.Sample(session => AssertSameSession(session, RoundTrip(session.ToBytes())), iter: 2_000);

    [Fact]
    public void Sessions_are_stored_as_readable_json()
    {
        var id = Guid.NewGuid();
        var session = new TestSessionPayload(id.ToByteArray(),
        [
            new("UserId", "ada"u8.ToArray()),
            new("count", [0, 0, 0, 42]),
            new("nul", "a\0b"u8.ToArray()),
            new("", []),
        ]);

        using var json = JsonDocument.Parse(Encode(session.ToBytes()));

        Assert.Equal(id.ToString(), json.RootElement.GetProperty("id").GetString());
        var values = json.RootElement.GetProperty("values");
        Assert.Equal("ada", values.GetProperty("UserId").GetString());
        Assert.Equal(Convert.ToBase64String([0, 0, 0, 42]), values.GetProperty("count").GetProperty("b64").GetString());
        Assert.Equal(Convert.ToBase64String("a\0b"u8), values.GetProperty("nul").GetProperty("b64").GetString());
        Assert.Equal("", values.GetProperty("").GetString());
    }

    [Fact]
    public void An_empty_session_round_trips()
    {
        var empty = new TestSessionPayload(Guid.NewGuid().ToByteArray(), []);
        Assert.Equal(20, empty.ToBytes().Length);
        AssertSameSession(empty, RoundTrip(empty.ToBytes()));
    }

    [Fact]
    public void A_session_with_ten_thousand_keys_round_trips()
    {
        var session = new TestSessionPayload(new byte[16], Enumerable.Range(0, 10_000)
            .Select(i => new KeyValuePair<string, byte[]>($"key-{i}", Encoding.UTF8.GetBytes($"value {i}")))
            .ToList());
        AssertSameSession(session, RoundTrip(session.ToBytes()));
    }

    [Fact]
    public void One_mebibyte_values_round_trip()
    {
        var binary = new byte[1024 * 1024];
        new Random(7).NextBytes(binary);
        var text = Encoding.UTF8.GetBytes(new string('é', 512 * 1024));
        var session = new TestSessionPayload(new byte[16], [new("binary", binary), new("text", text)]);
        AssertSameSession(session, RoundTrip(session.ToBytes()));
        Assert.Equal(binary, RoundTrip(binary));
    }

    [Fact]
    public void Duplicate_keys_keep_every_byte()
    {
        var session = new TestSessionPayload(new byte[16], [new("k", [1]), new("k", [2])]);
        var bytes = session.ToBytes();
        Assert.Equal(bytes, RoundTrip(bytes));
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"b64\":\"!!\"}")]
    [InlineData("{\"id\":\"not-a-guid\",\"values\":{}}")]
    [InlineData("{\"values\":{}}")]
    [InlineData("{\"id\":\"00000000-0000-0000-0000-000000000000\",\"values\":{\"k\":1}}")]
    [InlineData("{\"id\":\"00000000-0000-0000-0000-000000000000\",\"values\":{\"k\":{\"x\":\"\"}}}")]
    [InlineData("{\"other\":1}")]
    public void Foreign_json_is_a_format_error(string json) =>
        Assert.Throws<FormatException>(() => JsonPayloadCodec.Decode(Encoding.UTF8.GetBytes(json), new ArrayBufferWriter<byte>()));

    private static byte[] Encode(byte[] payload)
    {
        var json = new ArrayBufferWriter<byte>();
        JsonPayloadCodec.Encode(payload, json);
        return json.WrittenSpan.ToArray();
    }

    private static byte[] RoundTrip(byte[] payload)
    {
        var decoded = new ArrayBufferWriter<byte>();
        JsonPayloadCodec.Decode(Encode(payload), decoded);
        return decoded.WrittenSpan.ToArray();
    }

    internal static void AssertSameSession(TestSessionPayload expected, byte[] actual)
    {
        var (id, map) = expected.Semantics();
        var (actualId, actualMap) = TestSessionPayload.Parse(actual);
        Assert.Equal(id, actualId);
        Assert.Equal(map.OrderBy(p => p.Key, StringComparer.Ordinal), actualMap.OrderBy(p => p.Key, StringComparer.Ordinal));
    }
}
