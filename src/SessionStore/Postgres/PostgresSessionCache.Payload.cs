using Npgsql;
using SessionStore.Internal;

namespace SessionStore.Postgres;

/// <summary>
/// The one place a <c>sess</c> column read by a statement is turned back into a value, shared by the cache's reads
/// and the migration tools (backfill, verify, sync), so that every reader follows the configured
/// <see cref="PostgresPayloadFormat"/> (whose details live in <see cref="Internal.PostgresPayloadColumn"/>).
/// </summary>
public sealed partial class PostgresSessionCache
{
    /// <summary>Fails when the column at <paramref name="ordinal"/> is not of the configured payload format's type.</summary>
    internal void ThrowIfPayloadTypeDiffers(NpgsqlDataReader reader, int ordinal)
    {
        if (!_payload.Matches(reader, ordinal))
        {
            throw PayloadFormatMismatch(innerException: null);
        }
    }

    /// <summary>A statement parameter holding <paramref name="value"/> as the <c>sess</c> column stores it, encoded into a buffer of <paramref name="buffers"/>.</summary>
    internal NpgsqlParameter<ReadOnlyMemory<byte>> PayloadParameter(ReadOnlyMemory<byte> value, PooledBuffers buffers) => _payload.Parameter(value, buffers);

    /// <summary>The value the <c>sess</c> column at <paramref name="ordinal"/> holds; null (and a warning naming the key's hash) when it cannot be decoded.</summary>
    internal byte[]? ReadPayload(string key, NpgsqlDataReader reader, int ordinal)
    {
        try
        {
            return _payload.Read(reader, ordinal);
        }
        catch (FormatException e)
        {
            LogUndecodableRow(KeyHash.Of(key), e);
            return null;
        }
    }
}
