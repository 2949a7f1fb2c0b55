using System.Buffers.Binary;

namespace SessionStore.Internal;

/// <summary>
/// The byte layout ASP.NET Core's <c>DistributedSession</c> writes (revision 2, big-endian):
/// <c>0x02 | entry count u24 | 16 id bytes | entries</c>, each entry
/// <c>key length u16 | key UTF-8 | value length i32 | value bytes</c>.
/// </summary>
internal static class SessionPayload
{
    public const byte Revision = 2;
    public const int IdLength = 16;
    public const int HeaderLength = 1 + 3 + IdLength;
    public const int MaxEntryCount = 0xFF_FFFF;

    public static void WriteHeader(Span<byte> destination, int entryCount, ReadOnlySpan<byte> id)
    {
        destination[0] = Revision;
        destination[1] = (byte)(entryCount >> 16);
        destination[2] = (byte)(entryCount >> 8);
        destination[3] = (byte)entryCount;
        id.CopyTo(destination[4..HeaderLength]);
    }

    public static void WriteKeyLength(Span<byte> destination, int length) =>
        BinaryPrimitives.WriteUInt16BigEndian(destination, checked((ushort)length));

    public static void WriteValueLength(Span<byte> destination, int length) =>
        BinaryPrimitives.WriteInt32BigEndian(destination, length);

    /// <summary>Reads a payload's header; false when the bytes are not a revision-2 session.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> payload, out int entryCount, out ReadOnlySpan<byte> id)
    {
        entryCount = 0;
        id = default;
        if (payload.Length < HeaderLength || payload[0] != Revision)
        {
            return false;
        }

        entryCount = payload[1] << 16 | payload[2] << 8 | payload[3];
        id = payload.Slice(4, IdLength);
        return true;
    }

    /// <summary>
    /// The signed-in user of a session: the value of <paramref name="key"/> as text, when <paramref name="payload"/> is
    /// a session holding that key with a valid UTF-8 value that is not blank and holds no U+0000; otherwise null. A
    /// blank value (an application that clears the key on sign-out) names no user: recorded, it gathered every such
    /// session under one user id that no revoke may name. A NUL cannot be stored in PostgreSQL text: sent, it failed
    /// the write (and, counted as the store failing, opened its circuit breaker for every user).
    /// </summary>
    public static string? FindUserId(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty || !TryReadHeader(payload, out _, out _))
        {
            return null;
        }

        var entries = new EntryReader(payload[HeaderLength..]);
        while (entries.TryReadNext())
        {
            if (entries.Key.SequenceEqual(key))
            {
                return System.Text.Unicode.Utf8.IsValid(entries.Value) && !entries.Value.Contains((byte)0)
                    && System.Text.Encoding.UTF8.GetString(entries.Value) is var text && !string.IsNullOrWhiteSpace(text)
                    ? text
                    : null;
            }
        }

        return null;
    }

    /// <summary>Walks the entries after the header, checking every length against the bytes left.</summary>
    public ref struct EntryReader(ReadOnlySpan<byte> entries)
    {
        private ReadOnlySpan<byte> _rest = entries;

        public ReadOnlySpan<byte> Key { get; private set; }

        public ReadOnlySpan<byte> Value { get; private set; }

        /// <summary>True when every byte has been consumed by whole entries.</summary>
        public readonly bool AtEnd => _rest.IsEmpty;

        public bool TryReadNext()
        {
            if (_rest.Length < 2)
            {
                return false;
            }

            int keyLength = BinaryPrimitives.ReadUInt16BigEndian(_rest);
            if (_rest.Length < 2 + keyLength + 4)
            {
                return false;
            }

            Key = _rest.Slice(2, keyLength);
            var valueLength = BinaryPrimitives.ReadInt32BigEndian(_rest[(2 + keyLength)..]);
            var valueStart = 2 + keyLength + 4;
            if (valueLength < 0 || _rest.Length - valueStart < valueLength)
            {
                return false;
            }

            Value = _rest.Slice(valueStart, valueLength);
            _rest = _rest[(valueStart + valueLength)..];
            return true;
        }
    }
}
