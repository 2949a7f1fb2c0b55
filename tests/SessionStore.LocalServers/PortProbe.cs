using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SessionStore.LocalServers;

/// <summary>Waits for a server process that was just started to accept connections (or answer) on its loopback port.</summary>
internal static class PortProbe
{
    /// <summary>Returns once the port accepts a connection; throws with the server's output when it exits or <paramref name="limit"/> passes.</summary>
    public static Task WaitUntilListeningAsync(Process process, string name, int port, TimeSpan limit, Func<Task<string>> output, CancellationToken cancellationToken) =>
        WaitUntilAsync(AcceptsConnectionsAsync, "start", process, name, port, limit, output, cancellationToken);

    /// <summary>
    /// Returns once the Redis server on <paramref name="port"/> answers <c>PING</c>, which it does only after its whole
    /// start: a cluster node accepts connections on its port before it binds its cluster bus port, and exits when that
    /// one is taken. Throws with the server's output when it exits or <paramref name="limit"/> passes.
    /// </summary>
    public static Task WaitUntilRedisAnswersAsync(Process process, string name, int port, TimeSpan limit, Func<Task<string>> output, CancellationToken cancellationToken) =>
        WaitUntilAsync(AnswersPingAsync, "answer", process, name, port, limit, output, cancellationToken);

    private static async Task WaitUntilAsync(Func<int, CancellationToken, Task<bool>> ready, string what, Process process, string name, int port, TimeSpan limit, Func<Task<string>> output, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await ready(port, cancellationToken))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{name} did not {what} on port {port}:\n{(process.HasExited ? await output() : "(still running)")}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port, CancellationToken cancellationToken)
    {
        using var client = await ConnectAsync(port, cancellationToken);
        return client is not null;
    }

    private static async Task<bool> AnswersPingAsync(int port, CancellationToken cancellationToken)
    {
        using var client = await ConnectAsync(port, cancellationToken);
        if (client is null)
        {
            return false;
        }

        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(1));
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), wait.Token);
            var reply = new byte[1];
            return await stream.ReadAsync(reply, wait.Token) == 1 && reply[0] == (byte)'+';
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// A connection to the port, or null when nothing listens there. A connection to itself does not count: while
    /// nothing listens, Linux can give the probe the very port it dials as its own and join the two ends.
    /// </summary>
    private static async Task<TcpClient?> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port, cancellationToken);
            if (client.Client.LocalEndPoint is IPEndPoint { Port: var own } && own == port)
            {
                client.Dispose();
                return null;
            }

            return client;
        }
        catch (SocketException)
        {
            client.Dispose();
            return null;
        }
    }
}
