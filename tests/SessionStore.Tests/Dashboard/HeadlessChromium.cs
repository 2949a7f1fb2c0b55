using System.Buffers.Binary;
using System.Diagnostics;

namespace SessionStore.Tests.Dashboard;

/// <summary>Debian's <c>chromium</c> run headless: a screenshot of a page, or its DOM after the page's scripts ran.</summary>
internal static class HeadlessChromium
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    /// <summary>The browser binary; fails the test (never skips it) when there is none, as CI installs it.</summary>
    public static string Find()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return new[] { "chromium", "chromium-browser" }
            .SelectMany(name => path.Select(directory => Path.Combine(directory, name)))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                "No chromium or chromium-browser on PATH: the dashboard test needs a headless browser. " +
                "Install it with scripts/install-servers.sh (apt-get install chromium).");
    }

    /// <summary>Takes a screenshot of <paramref name="page"/> into <paramref name="png"/> after its scripts ran for a few seconds.</summary>
    public static Task ScreenshotAsync(Uri page, string png, CancellationToken cancellationToken) =>
        RunAsync([$"--screenshot={png}", "--window-size=1400,1000", page.ToString()], cancellationToken);

    /// <summary>The DOM of <paramref name="page"/> after its scripts ran for a few seconds.</summary>
    public static Task<string> DumpDomAsync(Uri page, CancellationToken cancellationToken) =>
        RunAsync(["--dump-dom", "--window-size=1400,1000", page.ToString()], cancellationToken);

    /// <summary>The width and height a PNG file's header gives.</summary>
    public static (int Width, int Height) PngSize(byte[] png)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.True(png.Length > 24 && png.AsSpan(0, 8).SequenceEqual(signature), "The screenshot is not a PNG file.");
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    private static void DeleteProfile(DirectoryInfo profile)
    {
        try
        {
            profile.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A crash reporter child may still be writing into it; the temp directory is cleaned eventually anyway.
        }
    }

    private static async Task<string> RunAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var profile = Directory.CreateTempSubdirectory("sessionstore-chromium-");
        var start = new ProcessStartInfo(Find())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start. A profile of its own per run, so
        // that runs side by side do not share (and lock) one. The virtual time budget lets the page poll its data a few times.
        foreach (var argument in (string[])["--headless", "--no-sandbox", "--disable-gpu", $"--user-data-dir={profile.FullName}", "--virtual-time-budget=5000", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Chromium did not start.");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RunTimeout);
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var errors = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {await errors}");
            return await output;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            DeleteProfile(profile);
        }
    }
}
