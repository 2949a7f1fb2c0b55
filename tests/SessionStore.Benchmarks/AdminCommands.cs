using Npgsql;

namespace SessionStore.Benchmarks;

/// <summary>The measurements' own SQL on the server, outside the cache under test.</summary>
internal static class AdminCommands
{
    public static async Task ExecuteAsync(NpgsqlDataSource admin, string sql)
    {
        await using var command = admin.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlDataSource admin, string sql)
    {
        await using var command = admin.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
