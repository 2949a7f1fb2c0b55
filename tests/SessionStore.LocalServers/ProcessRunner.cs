using System.Diagnostics;

namespace SessionStore.LocalServers;

/// <summary>Runs a server's command-line tools, as an unprivileged user when this process is root.</summary>
internal static class ProcessRunner
{
    /// <summary>PostgreSQL refuses to run as root; this is the account it runs as then.</summary>
    public static string? UnprivilegedUser { get; } = Environment.IsPrivilegedProcess ? FindUnprivilegedUser() : null;

    /// <summary>Runs <paramref name="fileName"/> to its end and returns its standard output; throws with both outputs when it exits non-zero.</summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, bool unprivileged = false, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (unprivileged && UnprivilegedUser is { } user)
        {
            start.FileName = "runuser";
            foreach (var argument in new[] { "-u", user, "--", fileName })
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', arguments)} exited with code {process.ExitCode}:\n{await output}\n{await error}");
        }

        return await output;
    }

    /// <summary>The full path of <paramref name="name"/> on PATH or in one of <paramref name="extraDirectories"/>.</summary>
    public static string? Find(string name, params IEnumerable<string> extraDirectories)
    {
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator) ?? [];
        return path.Concat(extraDirectories)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
    }

    private static string FindUnprivilegedUser()
    {
        var users = File.Exists("/etc/passwd") ? File.ReadAllLines("/etc/passwd") : [];
        return users.Any(line => line.StartsWith("postgres:", StringComparison.Ordinal)) ? "postgres" : "nobody";
    }
}
