using System.Diagnostics;
using System.Globalization;

namespace SessionStore.Tests.Faults;

/// <summary>
/// Hangs a server as a stalled VM or a full disk would: SIGSTOP to its processes, so connections are accepted
/// by the kernel and never answered; SIGCONT lets it go on. Used only on servers a test started for itself.
/// </summary>
internal sealed class ProcessFreezer(IReadOnlyList<int> processIds) : IAsyncDisposable
{
    private bool _frozen;

    /// <summary>A process and its children (a PostgreSQL postmaster and its backends), as they are now.</summary>
    public static ProcessFreezer ForTree(int rootProcessId) => new([rootProcessId, .. Descendants(rootProcessId)]);

    public async Task FreezeAsync()
    {
        await SignalAsync("STOP");
        _frozen = true;
    }

    public async Task ThawAsync()
    {
        await SignalAsync("CONT");
        _frozen = false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_frozen)
        {
            await ThawAsync();
        }
    }

    private async Task SignalAsync(string signal)
    {
        var start = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        start.ArgumentList.Add("-" + signal);
        foreach (var id in processIds)
        {
            start.ArgumentList.Add(id.ToString(CultureInfo.InvariantCulture));
        }

        using var kill = Process.Start(start)!;
        await kill.WaitForExitAsync();
        Assert.True(kill.ExitCode == 0, $"kill -{signal} failed: {await kill.StandardError.ReadToEndAsync()}");
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
