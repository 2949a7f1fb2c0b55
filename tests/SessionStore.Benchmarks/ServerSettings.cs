using Npgsql;
using SessionStore.LocalServers;

namespace SessionStore.Benchmarks;

/// <summary>
/// The server settings docs/postgres.md ("Server settings") tells users to start from, applied to a throw-away
/// server: written with ALTER SYSTEM, then the server is restarted (shared_buffers takes effect only at start).
/// </summary>
internal static class ServerSettings
{
    /// <summary>For this 2-core machine with about 23 GiB: the session table, its TOAST and its indexes fit in shared_buffers.</summary>
    public static readonly (string Name, string Value)[] Documented =
    [
        ("shared_buffers", "4GB"),
        ("effective_cache_size", "12GB"),
        ("max_wal_size", "4GB"),
        ("checkpoint_completion_target", "0.9"),
        ("random_page_cost", "1.1"),
    ];

    public static async Task ApplyAsync(LocalPostgres postgres, NpgsqlDataSource admin)
    {
        foreach (var (name, value) in Documented)
        {
            await AdminCommands.ExecuteAsync(admin, $"ALTER SYSTEM SET {name} = '{value}'");
        }

        var data = await AdminCommands.ScalarAsync<string>(admin, "SHOW data_directory");
        NpgsqlConnection.ClearAllPools();
        var pgCtl = Path.Combine(LocalPostgres.FindBinaries()!, "pg_ctl");

        // pg_ctl restart reuses the options the server was started with (postmaster.opts); PostgreSQL refuses to run as root.
        string[] restart = ["-D", data, "-l", Path.Combine(Path.GetDirectoryName(data)!, "server.log"), "-w", "-t", "120", "-m", "fast", "restart"];
        await (Environment.IsPrivilegedProcess
            ? Ceilings.RunAsync("runuser", ["-u", "postgres", "--", pgCtl, .. restart])
            : Ceilings.RunAsync(pgCtl, restart));
        Console.WriteLine($"PostgreSQL restarted with shared_buffers = {await AdminCommands.ScalarAsync<string>(admin, "SHOW shared_buffers")}.");
    }
}
