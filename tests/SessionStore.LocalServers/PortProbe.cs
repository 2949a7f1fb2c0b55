using System.Diagnostics;
using System.Net.Sockets;

namespace SessionStore.LocalServers;

/// <summary>Waits for a server process that was just started to accept connections on its loopback port.</summary>
internal static class PortProbe
{
    /// <summary>Returns once the port accepts a connection; throws with the server's output when it exits or <paramref name="limit"/> passes.</summary>
    public static async Task WaitUntilListeningAsync(Process process, string name, int port, TimeSpan limit, Func<Task<string>> output, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await AcceptsConnectionsAsync(port, cancellationToken))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{name} did not start on port {port}:\n{(process.HasExited ? await output() : "(still running)")}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
