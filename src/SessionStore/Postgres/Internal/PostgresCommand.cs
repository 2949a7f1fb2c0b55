using Npgsql;

namespace SessionStore.Postgres.Internal;

/// <summary>
/// Runs one statement on an open connection, synchronously or not, with positional parameters. Npgsql's own timeout
/// is the connection's Command Timeout unless <c>commandTimeout</c> (whole seconds) says otherwise: a cleanup
/// statement may run up to its StatementTimeout, longer than the cache's OperationTimeout the connection carries.
/// </summary>
internal static class PostgresCommand
{
    public static ValueTask<object?> ScalarAsync(NpgsqlConnection connection, string sql, bool async, CancellationToken cancellationToken, params object[] parameters) =>
        ScalarAsync(connection, commandTimeout: null, sql, async, cancellationToken, parameters);

    public static async ValueTask<object?> ScalarAsync(NpgsqlConnection connection, int? commandTimeout, string sql, bool async, CancellationToken cancellationToken, params object[] parameters)
    {
        using var command = Create(connection, commandTimeout, sql, parameters);
        return async
            ? await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false)
            : command.ExecuteScalar();
    }

    public static ValueTask<List<T>> QueryAsync<T>(NpgsqlConnection connection, string sql, Func<NpgsqlDataReader, T> read, bool async, CancellationToken cancellationToken, params object[] parameters) =>
        QueryAsync(connection, commandTimeout: null, sql, read, async, cancellationToken, parameters);

    public static async ValueTask<List<T>> QueryAsync<T>(NpgsqlConnection connection, int? commandTimeout, string sql, Func<NpgsqlDataReader, T> read, bool async, CancellationToken cancellationToken, params object[] parameters)
    {
        using var command = Create(connection, commandTimeout, sql, parameters);
        using var reader = async
            ? await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false)
            : command.ExecuteReader();
        var rows = new List<T>();
        while (async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>Sets a parameter for the rest of the current transaction (<c>SET LOCAL</c>, but with a parameter).</summary>
    public static ValueTask<object?> SetLocalAsync(NpgsqlConnection connection, string setting, TimeSpan value, bool async, CancellationToken cancellationToken, int? commandTimeout = null) =>
        ScalarAsync(connection, commandTimeout, "SELECT set_config($1, $2, true)", async, cancellationToken, setting, Milliseconds(value));

    /// <summary>A duration as PostgreSQL's timeout settings read it: whole milliseconds, never 0 (which means none).</summary>
    public static string Milliseconds(TimeSpan value) =>
        Math.Max(1, (long)Math.Ceiling(value.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A timeout in Npgsql's unit, whole seconds, rounded up and at least 1 (0 would mean none).</summary>
    public static int CommandTimeout(TimeSpan timeout) => (int)Math.Clamp(Math.Ceiling(timeout.TotalSeconds), 1, int.MaxValue);

    private static NpgsqlCommand Create(NpgsqlConnection connection, int? commandTimeout, string sql, object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        if (commandTimeout is { } seconds)
        {
            command.CommandTimeout = seconds;
        }

        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
