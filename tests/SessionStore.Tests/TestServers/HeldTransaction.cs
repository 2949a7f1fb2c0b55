using Npgsql;

namespace SessionStore.Tests.TestServers;

/// <summary>
/// A transaction of a test's own, left open so that the locks its statement took stay held (a long read such as a
/// report or pg_dump, a long write, a row lock) until it is disposed, which rolls it back; disposing twice is harmless.
/// </summary>
public sealed class HeldTransaction : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private HeldTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, object? firstValue) =>
        (_connection, _transaction, FirstValue) = (connection, transaction, firstValue);

    /// <summary>The first column of the statement's first row; null when it returned none.</summary>
    public object? FirstValue { get; }

    /// <summary>Runs <paramref name="statement"/> (<c>$1</c>… its <paramref name="parameters"/>) in a new transaction on <paramref name="dataSource"/>, left open.</summary>
    public static async Task<HeldTransaction> BeginAsync(NpgsqlDataSource dataSource, string statement, params object[] parameters)
    {
        var token = TestContext.Current.CancellationToken;
        var connection = await dataSource.OpenConnectionAsync(token);
        try
        {
            var transaction = await connection.BeginTransactionAsync(token);
            await using var command = new NpgsqlCommand(statement, connection, transaction);
            foreach (var value in parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }

            return new HeldTransaction(connection, transaction, await command.ExecuteScalarAsync(token));
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
