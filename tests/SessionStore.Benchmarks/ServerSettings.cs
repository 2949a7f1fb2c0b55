using Npgsql;
using SessionStore.LocalServers;

namespace SessionStore.Benchmarks;

/// <summary>
/// The server settings docs/postgres.md ("Server settings") tells users to start from, applied to a throw-away
/// server: written with ALTER SYSTEM, then the server is restarted (shared_buffers and huge_pages take effect
/// only at start).
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

    /// <summary>
    /// Applies <see cref="Documented"/> and restarts the server, then sets aside the 2 MB pages its shared memory
    /// needs (<c>vm.nr_hugepages</c>, as root) and restarts it with <c>huge_pages = on</c>, which refuses to start
    /// without them. Disposing the result gives the pages back to the operating system.
    /// </summary>
    public static async Task<IDisposable> ApplyAsync(LocalPostgres postgres, NpgsqlDataSource admin)
    {
        foreach (var (name, value) in Documented)
        {
            await AdminCommands.ExecuteAsync(admin, $"ALTER SYSTEM SET {name} = '{value}'");
        }

        await RestartAsync(admin);

        // Computed by the server for its own configuration (PostgreSQL 15 and later).
        var needed = int.Parse(await AdminCommands.ScalarAsync<string>(admin, "SHOW shared_memory_size_in_huge_pages"), System.Globalization.CultureInfo.InvariantCulture);
        var reservation = HugePages.Reserve(needed);
        await AdminCommands.ExecuteAsync(admin, "ALTER SYSTEM SET huge_pages = 'on'");
        await RestartAsync(admin);
        Console.WriteLine($"PostgreSQL restarted with shared_buffers = {await AdminCommands.ScalarAsync<string>(admin, "SHOW shared_buffers")}, huge_pages = on ({needed:N0} pages of 2 MB set aside).");
        return reservation;
    }

    private static async Task RestartAsync(NpgsqlDataSource admin)
    {
        var data = await AdminCommands.ScalarAsync<string>(admin, "SHOW data_directory");
        NpgsqlConnection.ClearAllPools();
        var pgCtl = Path.Combine(LocalPostgres.FindBinaries()!, "pg_ctl");

        // pg_ctl restart reuses the options the server was started with (postmaster.opts); PostgreSQL refuses to run as root.
        string[] restart = ["-D", data, "-l", Path.Combine(Path.GetDirectoryName(data)!, "server.log"), "-w", "-t", "120", "-m", "fast", "restart"];
        await (Environment.IsPrivilegedProcess
            ? Ceilings.RunAsync("runuser", ["-u", "postgres", "--", pgCtl, .. restart])
            : Ceilings.RunAsync(pgCtl, restart));
    }

    /// <summary>The operating system's count of reserved 2 MB pages, raised for the run and put back after it.</summary>
    /// <param name="before">The count to put back; null when this run raised none.</param>
    private sealed class HugePages(int? before) : IDisposable
    {
        private const string Count = "/proc/sys/vm/nr_hugepages";

        public static HugePages Reserve(int needed)
        {
            var before = ReadCount();
            try
            {
                File.WriteAllText(Count, $"{before + needed}");
            }
            catch (UnauthorizedAccessException) when (FreePages() >= needed)
            {
                // Not root, but an administrator already set enough aside: nothing to give back either.
                return new HugePages(before: null);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new InvalidOperationException($"huge_pages = on needs {needed:N0} free huge pages: run as root, or first run 'sysctl -w vm.nr_hugepages={before + needed}'.", e);
            }

            var granted = ReadCount();
            if (granted < before + needed)
            {
                File.WriteAllText(Count, $"{before}");
                throw new InvalidOperationException($"The operating system set aside {granted - before:N0} of the {needed:N0} huge pages PostgreSQL needs (memory too fragmented or too small).");
            }

            return new HugePages(before);
        }

        public void Dispose()
        {
            if (before is { } count)
            {
                File.WriteAllText(Count, $"{count}");
            }
        }

        private static int ReadCount() => int.Parse(File.ReadAllText(Count).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        private static int FreePages() =>
            File.ReadLines("/proc/meminfo").Where(line => line.StartsWith("HugePages_Free:", StringComparison.Ordinal))
                .Select(line => int.Parse(line["HugePages_Free:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
                .FirstOrDefault();
    }
}
