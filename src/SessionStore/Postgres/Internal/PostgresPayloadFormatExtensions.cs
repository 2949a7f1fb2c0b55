namespace SessionStore.Postgres.Internal;

internal static class PostgresPayloadFormatExtensions
{
    /// <summary>The type of the <c>sess</c> column that holds values in this format.</summary>
    public static string ColumnType(this PostgresPayloadFormat format) => format == PostgresPayloadFormat.Bytea ? "bytea" : "jsonb";
}
