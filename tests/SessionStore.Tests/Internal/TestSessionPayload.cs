using System.Buffers.Binary;
using System.Text;

namespace SessionStore.Tests.Internal;

/// <summary>
/// A session as ASP.NET Core's DistributedSession sees it (an id and a key-to-value map) and the bytes it
/// writes for one; written here from the format's description, independently of the code under test.
/// </summary>
public sealed record TestSessionPayload(byte[] Id, IReadOnlyList<KeyValuePair<string, byte[]>> Entries)
{
    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        stream.WriteByte(2);
        stream.WriteByte((byte)(Entries.Count >> 16));
        stream.WriteByte((byte)(Entries.Count >> 8));
        stream.WriteByte((byte)Entries.Count);
        stream.Write(Id);
        Span<byte> length = stackalloc byte[4];
        foreach (var (key, value) in Entries)
        {
            var keyBytes = Encoding.UTF8.GetBytes(key);
            BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)keyBytes.Length);
            stream.Write(length[..2]);
            stream.Write(keyBytes);
            BinaryPrimitives.WriteInt32BigEndian(length, value.Length);
            stream.Write(length);
            stream.Write(value);
        }

        return stream.ToArray();
    }

    /// <summary>Reads the bytes back into an id and a map, as DistributedSession does.</summary>
    public static (string Id, Dictionary<string, string> Map) Parse(byte[] payload)
    {
        Assert.Equal(2, payload[0]);
        var count = payload[1] << 16 | payload[2] << 8 | payload[3];
        var id = Convert.ToHexString(payload, 4, 16);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var position = 20;
        for (var i = 0; i < count; i++)
        {
            int keyLength = BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(position));
            var key = Encoding.UTF8.GetString(payload, position + 2, keyLength);
            position += 2 + keyLength;
            var valueLength = BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(position));
            map[key] = Convert.ToHexString(payload, position + 4, valueLength);
            position += 4 + valueLength;
        }

        Assert.Equal(payload.Length, position);
        return (id, map);
    }

    /// <summary>The semantic view: the id and the map, hex-encoded so that equality is exact.</summary>
    public (string Id, Dictionary<string, string> Map) Semantics() => Parse(ToBytes());
}
