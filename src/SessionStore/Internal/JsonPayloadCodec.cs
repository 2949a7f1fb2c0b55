using System.Buffers;
using System.Buffers.Text;
using System.IO.Hashing;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace SessionStore.Internal;

/// <summary>
/// Turns cache values into the JSON stored in the <c>sess</c> column and back.
/// A session payload becomes <c>{"id":"&lt;ISession.Id&gt;","values":{"key":"text","key2":{"b64":"..."}}}</c>:
/// values that are valid UTF-8 without ASCII control characters but tab, LF and CR (jsonb cannot hold <c>\u0000</c>) are JSON strings, others are
/// marked base64. Anything that is not a session payload is stored whole as <c>{"b64":"..."}</c>, so its bytes
/// come back exactly; a session comes back with the same id and the same key-to-value map.
/// </summary>
/// <remarks>
/// Limits (docs/security.md, "Keys, values and expiry"): jsonb holds no string past 0x0FFFFFFF bytes, so a
/// payload stored whole as base64 may have at most <see cref="MaximumPayloadSize"/> bytes; System.Text.Json
/// writes no text value past 166,666,666 bytes, so a longer one makes the session go whole as base64, as does a
/// session whose readable form could come near jsonb's limit (many tiny entries). Text with ASCII control
/// characters (each escaped to six bytes) is stored as base64 too, so the JSON sent for a value is at most three
/// times its size (a C1 control or unassigned code point escaped) plus a small overhead per entry.
/// </remarks>
internal static class JsonPayloadCodec
{
    /// <summary>
    /// The largest payload this codec stores: its base64 (266,666,668 bytes) fits jsonb's 268,435,455-byte limit
    /// on a string with room to spare.
    /// </summary>
    public const int MaximumPayloadSize = 200_000_000;

    // jsonb refuses a container or string past 0x0FFFFFFF bytes; the readable form stays well below it.
    private const long MaximumReadableSize = 200_000_000;

    // System.Text.Json's limit on one unescaped string value (1,000,000,000 / 6).
    private const int MaximumTextLength = 166_666_666;

    // jsonb's own cost of an entry beyond its text (item headers, alignment), and of a {"b64":...} wrapper, rounded up.
    private const int EntryOverhead = 24;
    private const int Base64WrapperOverhead = 24;

    private static readonly SearchValues<byte> ReadableBytes = SearchValues.Create(
        [(byte)'\t', (byte)'\n', (byte)'\r', .. Enumerable.Range(0x20, 0x100 - 0x20).Select(b => (byte)b)]);

    // An entry is at least a 2-byte key length and a 4-byte value length.
    private const int MinimumEntryLength = 6;

    private static ReadOnlySpan<byte> IdProperty => "id"u8;
    private static ReadOnlySpan<byte> ValuesProperty => "values"u8;
    private static ReadOnlySpan<byte> Base64Property => "b64"u8;

    // Non-ASCII text stays as it is rather than \u-escaped: PostgreSQL stores jsonb strings as UTF-8 anyway.
    // Never written to: what an idle per-thread writer points at.
    private static readonly ArrayBufferWriter<byte> Detached = new(1);

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <summary>Writes <paramref name="payload"/> as JSON.</summary>
    /// <param name="payload">The cache value.</param>
    /// <param name="json">Receives the UTF-8 JSON text.</param>
    public static void Encode(ReadOnlySpan<byte> payload, IBufferWriter<byte> json)
    {
        // One writer per thread, reset for each value: encoding never awaits, so no other value can be on it.
        var writer = t_writer ??= new Utf8JsonWriter(json, WriterOptions);
        writer.Reset(json);
        try
        {
            WriteJson(payload, writer);
        }
        finally
        {
            // Into the caller's buffer; then the writer lets go of it, so no thread keeps a large value alive.
            writer.Flush();
            writer.Reset(Detached);
        }
    }

    private static void WriteJson(ReadOnlySpan<byte> payload, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        if (IsJsonSafeSession(payload))
        {
            SessionPayload.TryReadHeader(payload, out _, out var id);
            Span<byte> idText = stackalloc byte[36];
            _ = new Guid(id).TryFormat(idText, out _);
            writer.WriteString(IdProperty, idText);
            writer.WriteStartObject(ValuesProperty);
            var entries = new SessionPayload.EntryReader(payload[SessionPayload.HeaderLength..]);
            while (entries.TryReadNext())
            {
                writer.WritePropertyName(entries.Key);
                if (IsJsonSafeText(entries.Value))
                {
                    writer.WriteStringValue(entries.Value);
                }
                else
                {
                    writer.WriteStartObject();
                    writer.WriteBase64String(Base64Property, entries.Value);
                    writer.WriteEndObject();
                }
            }

            writer.WriteEndObject();
        }
        else
        {
            writer.WriteBase64String(Base64Property, payload);
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes the cache value that <paramref name="json"/> encodes.</summary>
    /// <exception cref="FormatException">The JSON is not in this codec's format.</exception>
    public static void Decode(ReadOnlySpan<byte> json, IBufferWriter<byte> payload)
    {
        try
        {
            DecodeCore(json, payload);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: the reader met a string that is not valid UTF-8 when copying it.
            throw new FormatException("The stored session JSON is malformed.", e);
        }
    }

    private static void DecodeCore(ReadOnlySpan<byte> json, IBufferWriter<byte> payload)
    {
        // First pass: the header (id and entry count) precedes the entries in the payload, but jsonb
        // may order the properties either way, so find both before writing anything.
        Span<byte> id = stackalloc byte[SessionPayload.IdLength];
        var hasId = false;
        var entryCount = -1;
        var reader = new Utf8JsonReader(json);
        ReadExpected(ref reader, JsonTokenType.StartObject);
        while (Read(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(Base64Property))
            {
                Read(ref reader);
                WriteBase64(ref reader, payload, lengthPrefix: false);
                ReadExpected(ref reader, JsonTokenType.EndObject);
                return;
            }

            if (reader.ValueTextEquals(IdProperty))
            {
                ReadExpected(ref reader, JsonTokenType.String);
                // The encoder writes the 'D' format, parsed without a string; any other form goes the slow way.
                if (!(TryParseGuid(reader.ValueSpan, reader.ValueIsEscaped, out var guid) || Guid.TryParse(reader.GetString(), out guid)) || !guid.TryWriteBytes(id))
                {
                    throw new FormatException("The stored session id is not a GUID.");
                }

                hasId = true;
            }
            else if (reader.ValueTextEquals(ValuesProperty))
            {
                ReadExpected(ref reader, JsonTokenType.StartObject);
                entryCount = 0;
                while (Read(ref reader) == JsonTokenType.PropertyName)
                {
                    Read(ref reader);
                    reader.Skip();
                    entryCount++;
                }
            }
            else
            {
                throw new FormatException("The stored session JSON has an unknown property.");
            }
        }

        if (!hasId || entryCount < 0 || entryCount > SessionPayload.MaxEntryCount)
        {
            throw new FormatException("The stored session JSON lacks its id or values.");
        }

        SessionPayload.WriteHeader(payload.GetSpan(SessionPayload.HeaderLength), entryCount, id);
        payload.Advance(SessionPayload.HeaderLength);

        reader = new Utf8JsonReader(json);
        Read(ref reader);
        while (Read(ref reader) == JsonTokenType.PropertyName && !reader.ValueTextEquals(ValuesProperty))
        {
            Read(ref reader);
            reader.Skip();
        }

        ReadExpected(ref reader, JsonTokenType.StartObject);
        while (Read(ref reader) == JsonTokenType.PropertyName)
        {
            WriteText(ref reader, payload, lengthPrefixSize: 2);
            switch (Read(ref reader))
            {
                case JsonTokenType.String:
                    WriteText(ref reader, payload, lengthPrefixSize: 4);
                    break;
                case JsonTokenType.StartObject:
                    ReadExpected(ref reader, JsonTokenType.PropertyName);
                    if (!reader.ValueTextEquals(Base64Property))
                    {
                        throw new FormatException("A stored session value object is not marked base64.");
                    }

                    Read(ref reader);
                    WriteBase64(ref reader, payload, lengthPrefix: true);
                    ReadExpected(ref reader, JsonTokenType.EndObject);
                    break;
                default:
                    throw new FormatException("A stored session value is neither text nor base64.");
            }
        }
    }

    private static bool TryParseGuid(ReadOnlySpan<byte> utf8, bool escaped, out Guid guid)
    {
        guid = default;
        return !escaped && Utf8Parser.TryParse(utf8, out guid, out var consumed) && consumed == utf8.Length;
    }

    /// <summary>A session payload whose keys can all be JSON property names and are unique.</summary>
    private static bool IsJsonSafeSession(ReadOnlySpan<byte> payload)
    {
        if (!SessionPayload.TryReadHeader(payload, out var entryCount, out _))
        {
            return false;
        }

        // The count comes from the payload: bound it by the bytes that could hold that many entries before
        // sizing anything on it (a 24-byte payload once claimed 16 million entries and rented 128 MiB).
        if (entryCount > (payload.Length - SessionPayload.HeaderLength) / MinimumEntryLength)
        {
            return false;
        }

        // Duplicate keys would collapse into one jsonb property; such a payload is stored as base64.
        // Equal 64-bit hashes are treated as duplicates: a false alarm costs only the readable form.
        var rented = entryCount > 128 ? ArrayPool<ulong>.Shared.Rent(entryCount) : null;
        try
        {
            var hashes = rented is null ? stackalloc ulong[entryCount] : rented.AsSpan(0, entryCount);
            var entries = new SessionPayload.EntryReader(payload[SessionPayload.HeaderLength..]);
            var readableSize = 0L;
            for (var i = 0; i < entryCount; i++)
            {
                if (!entries.TryReadNext() || !IsJsonSafeText(entries.Key))
                {
                    return false;
                }

                readableSize += entries.Key.Length + EntryOverhead
                    + (IsJsonSafeText(entries.Value) ? entries.Value.Length : Base64.GetMaxEncodedToUtf8Length(entries.Value.Length) + Base64WrapperOverhead);
                if (entries.Value.Length > MaximumTextLength)
                {
                    return false;
                }

                if (readableSize > MaximumReadableSize)
                {
                    return false;
                }

                hashes[i] = XxHash3.HashToUInt64(entries.Key);
            }

            if (!entries.AtEnd)
            {
                return false;
            }

            hashes.Sort();
            for (var i = 1; i < hashes.Length; i++)
            {
                if (hashes[i] == hashes[i - 1])
                {
                    return false;
                }
            }

            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<ulong>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Valid UTF-8 without control characters other than tab, line feed and carriage return: jsonb cannot hold
    /// NUL, and the others would each be written as a six-byte <c>\u00XX</c> escape.
    /// </summary>
    private static bool IsJsonSafeText(ReadOnlySpan<byte> utf8) =>
        utf8.IndexOfAnyExcept(ReadableBytes) < 0 && Utf8.IsValid(utf8);

    /// <summary>Adds a failure when the codec is asked to take values larger than it can.</summary>
    public static void ValidateMaximumValueSize(ICollection<string> failures, int maximumValueSize)
    {
        if (maximumValueSize > MaximumPayloadSize)
        {
            failures.Add(
                $"MaximumValueSize is {maximumValueSize}; with PayloadFormat Jsonb it must be at most {MaximumPayloadSize} bytes " +
                "(a value's base64 must fit jsonb's 255 MiB limit on a string). Use PayloadFormat Bytea for larger values.");
        }
    }

    private static void WriteText(ref Utf8JsonReader reader, IBufferWriter<byte> payload, int lengthPrefixSize)
    {
        // Unescaping never makes text longer, so the escaped length bounds the space needed.
        var destination = payload.GetSpan(lengthPrefixSize + reader.ValueSpan.Length);
        var length = reader.CopyString(destination[lengthPrefixSize..]);
        if (lengthPrefixSize == 2)
        {
            if (length > ushort.MaxValue)
            {
                throw new FormatException("A stored session key is longer than a session payload can hold (65,535 bytes).");
            }

            SessionPayload.WriteKeyLength(destination, length);
        }
        else
        {
            SessionPayload.WriteValueLength(destination, length);
        }

        payload.Advance(lengthPrefixSize + length);
    }

    private static void WriteBase64(ref Utf8JsonReader reader, IBufferWriter<byte> payload, bool lengthPrefix)
    {
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            throw new FormatException("A stored base64 value is not a plain JSON string.");
        }

        var base64 = reader.ValueSpan;
        var prefix = lengthPrefix ? 4 : 0;
        var destination = payload.GetSpan(prefix + Base64.GetMaxDecodedFromUtf8Length(base64.Length));
        if (Base64.DecodeFromUtf8(base64, destination[prefix..], out _, out var written) != OperationStatus.Done)
        {
            throw new FormatException("A stored base64 value is not valid base64.");
        }

        if (lengthPrefix)
        {
            SessionPayload.WriteValueLength(destination, written);
        }

        payload.Advance(prefix + written);
    }

    private static JsonTokenType Read(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new FormatException("The stored session JSON ends early.");

    private static void ReadExpected(ref Utf8JsonReader reader, JsonTokenType expected)
    {
        if (Read(ref reader) != expected)
        {
            throw new FormatException($"The stored session JSON has {reader.TokenType} where {expected} belongs.");
        }
    }
}
