using System.Diagnostics;
using System.Globalization;

namespace SessionStore.Tests.Faults;

/// <summary>
/// Hangs a server as a stalled VM or a full disk would: SIGSTOP to its processes, so connections are accepted
/// by the kernel and never answered; SIGCONT lets it go on. Used only on servers a test started for itself.
/// </summary>
internal sealed class ProcessFreezer(int rootProcessId, bool withChildren) : IAsyncDisposable
{
    private List<int> _frozen = [];

    /// <summary>A process and the children it has when frozen (a PostgreSQL postmaster and its backends).</summary>
    public static ProcessFreezer ForTree(int rootProcessId) => new(rootProcessId, withChildren: true);

    public static ProcessFreezer ForProcess(int processId) => new(processId, withChildren: false);

    /// <summary>Stops the root first, so it forks nothing more, then every child it has by then.</summary>
    public async Task FreezeAsync()
    {
        _frozen = [rootProcessId];
        Assert.True(await SignalAsync("STOP", rootProcessId), $"kill -STOP {rootProcessId} failed");
        if (withChildren)
        {
            var children = Descendants(rootProcessId);
            _frozen.AddRange(children);
            foreach (var child in children)
            {
                // A backend that exited since the listing is simply gone.
                await SignalAsync("STOP", child);
            }
        }
    }

    public async Task ThawAsync()
    {
        foreach (var id in _frozen)
        {
            await SignalAsync("CONT", id);
        }

        _frozen = [];
    }

    public async ValueTask DisposeAsync() => await ThawAsync();

    private static async Task<bool> SignalAsync(string signal, int processId)
    {
        var start = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        start.ArgumentList.Add("-" + signal);
        start.ArgumentList.Add(processId.ToString(CultureInfo.InvariantCulture));
        using var kill = Process.Start(start)!;
        await kill.WaitForExitAsync();
        return kill.ExitCode == 0;
    }

    private static List<int> Descendants(int parent)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var id))
            {
                continue;
            }

            try
            {
                // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) == parent)
                {
                    children.Add(id);
                    children.AddRange(Descendants(id));
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }

        return children;
    }
}
