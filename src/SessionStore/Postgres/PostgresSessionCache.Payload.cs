using System.Buffers;
using Npgsql;
using SessionStore.Internal;

namespace SessionStore.Postgres;

/// <summary>
/// The one place a <c>sess</c> column is turned back into a value, shared by the cache's reads and the migration
/// tools (backfill, verify, sync), so that every reader follows the configured <see cref="PostgresPayloadFormat"/>.
/// </summary>
public sealed partial class PostgresSessionCache
{
    /// <summary>Fails when the column at <paramref name="ordinal"/> is not of the configured payload format's type.</summary>
    internal void ThrowIfPayloadTypeDiffers(NpgsqlDataReader reader, int ordinal)
    {
        if (reader.GetDataTypeName(ordinal) != _payloadType)
        {
            throw PayloadFormatMismatch(innerException: null);
        }
    }

    /// <summary>The value a stored <c>sess</c> holds; null (and a warning naming the key's hash) when it cannot be decoded.</summary>
    internal byte[]? DecodePayload(string key, byte[] stored)
    {
        if (_options.PayloadFormat == PostgresPayloadFormat.Bytea)
        {
            return stored;
        }

        var payload = new ArrayBufferWriter<byte>(stored.Length + 64);
        try
        {
            JsonPayloadCodec.Decode(stored, payload);
        }
        catch (FormatException e)
        {
            LogUndecodableRow(KeyHash.Of(key), e);
            return null;
        }

        return payload.WrittenSpan.ToArray();
    }
}
