using System.Buffers;
using Npgsql;
using NpgsqlTypes;
using SessionStore.Internal;

namespace SessionStore.Postgres.Internal;

/// <summary>
/// Everything that depends on how the <c>sess</c> column holds a value (<see cref="PostgresPayloadFormat"/>): the
/// column's type as the schema scripts create it and the catalog reports it, the parameter a write sends, the
/// size limit, and how a read turns the column back into the value. The cache, the migrator and the migration
/// tools all go through here, so that no second copy of this knowledge can drift.
/// </summary>
internal sealed class PostgresPayloadColumn
{
    // The types' built-in OIDs (pg_type.dat), fixed in every PostgreSQL: reading a column's type name allocates, its OID does not.
    public static readonly PostgresPayloadColumn Jsonb = new(PostgresPayloadFormat.Jsonb, "jsonb", typeOid: 3802, NpgsqlDbType.Jsonb);

    public static readonly PostgresPayloadColumn Bytea = new(PostgresPayloadFormat.Bytea, "bytea", typeOid: 17, NpgsqlDbType.Bytea);

    // jsonb's binary send format is this version byte, then the JSON text.
    private const byte JsonbBinaryVersion = 1;

    private readonly uint _typeOid;
    private readonly NpgsqlDbType _parameterType;

    private PostgresPayloadColumn(PostgresPayloadFormat format, string columnType, uint typeOid, NpgsqlDbType parameterType)
    {
        Format = format;
        ColumnType = columnType;
        _typeOid = typeOid;
        _parameterType = parameterType;
    }

    public PostgresPayloadFormat Format { get; }

    /// <summary>The type of the <c>sess</c> column, as the schema scripts write it and <c>format_type</c> reports it.</summary>
    public string ColumnType { get; }

    public static PostgresPayloadColumn For(PostgresPayloadFormat format) => format == PostgresPayloadFormat.Bytea ? Bytea : Jsonb;

    /// <summary>Adds a failure when this format is asked to take values larger than it can hold.</summary>
    public void ValidateMaximumValueSize(ICollection<string> failures, int maximumValueSize)
    {
        if (Format == PostgresPayloadFormat.Jsonb)
        {
            JsonPayloadCodec.ValidateMaximumValueSize(failures, maximumValueSize);
        }
    }

    /// <summary>
    /// The <c>sess</c> value of a write: a copy of the bytes, or their JSON, in a buffer rented from
    /// <paramref name="buffers"/>, which the caller disposes once the statement ran. Never the caller's own memory:
    /// a statement can still be sent after its caller stopped waiting for it (a queued write, an abandoned one), and
    /// by then that memory may hold another request's bytes.
    /// </summary>
    public NpgsqlParameter<ReadOnlyMemory<byte>> Parameter(ReadOnlyMemory<byte> value, PooledBuffers buffers)
    {
        var buffer = buffers.Rent(value.Length + 64);
        if (Format == PostgresPayloadFormat.Jsonb)
        {
            JsonPayloadCodec.Encode(value.Span, buffer);
        }
        else
        {
            buffer.Write(value.Span);
        }

        return new NpgsqlParameter<ReadOnlyMemory<byte>> { NpgsqlDbType = _parameterType, TypedValue = buffer.WrittenMemory };
    }

    /// <summary>Whether the column at <paramref name="ordinal"/> is of this format's type.</summary>
    public bool Matches(NpgsqlDataReader reader, int ordinal) => reader.GetDataTypeOID(ordinal) == _typeOid;

    /// <summary>
    /// The value the column at <paramref name="ordinal"/> holds. A jsonb column is read as its raw binary form into
    /// a pooled buffer and decoded into another, so that the only array allocated is the value returned.
    /// </summary>
    /// <exception cref="FormatException">The stored JSON is not in the codec's format.</exception>
    public byte[] Read(NpgsqlDataReader reader, int ordinal)
    {
        if (Format == PostgresPayloadFormat.Bytea)
        {
            return reader.GetFieldValue<byte[]>(ordinal);
        }

        // Not a sequential reader: the row is already in memory, so reading the stream synchronously never waits.
        using var stream = reader.GetStream(ordinal);
        var length = checked((int)stream.Length);
        var raw = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            stream.ReadExactly(raw, 0, length);
            if (length == 0 || raw[0] != JsonbBinaryVersion)
            {
                throw new FormatException($"The stored jsonb is in binary format version {(length == 0 ? "(none)" : raw[0])}; this version of the cache reads version {JsonbBinaryVersion}.");
            }

            using var payload = new PooledBufferWriter(length);
            JsonPayloadCodec.Decode(raw.AsSpan(1, length - 1), payload);
            return payload.WrittenSpan.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }
}
