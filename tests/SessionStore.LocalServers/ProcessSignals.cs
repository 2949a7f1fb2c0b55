using System.Globalization;

namespace SessionStore.LocalServers;

/// <summary>POSIX signals to server processes, through <c>kill</c>: .NET has no API for SIGSTOP and SIGCONT.</summary>
internal static class ProcessSignals
{
    public static Task SendAsync(string signal, IEnumerable<int> pids) =>
        ProcessRunner.RunAsync("kill", [$"-{signal}", .. pids.Select(p => p.ToString(CultureInfo.InvariantCulture))]);

    /// <summary>The processes whose parent is <paramref name="parent"/>, read from <c>/proc</c>.</summary>
    public static IEnumerable<int> ChildrenOf(int parent)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue;
            }

            // "pid (command) state ppid ...": the command may hold spaces and parentheses, so read after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 1 && int.TryParse(fields[1], out var ppid) && ppid == parent)
            {
                yield return pid;
            }
        }
    }
}
