using SessionStore.Tests.Migration;
using SessionStore.Tests.TestServers;

namespace SessionStore.Tests.Cli;

/// <summary>The tool in its own process, stopped by a signal as an operator's shell stops it.</summary>
public sealed class CliSignalTests(PostgresServer postgres, RedisServer redis)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_hang_up_signal_stops_a_backfill_at_a_safe_point_like_Ctrl_C()
    {
        using var scenario = new MigrationScenario(postgres, redis);
        await scenario.CreateTableAsync();
        await scenario.WriteRedisSessionsAsync(5_000);
        var checkpoint = VerifyCommandTests.TempFile();
        // A shell starts the tool and, 2 s into its 10 s of copying at this rate, sends it SIGHUP: a dropped ssh session.
        var start = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("\"$@\" & tool=$!; sleep 2; kill -HUP $tool; wait $tool; echo \"exit $?\"");
        start.ArgumentList.Add("bash");
        foreach (var argument in (string[])[ToolPath(), "backfill", "--checkpoint", checkpoint, "--rate", "500", .. CliRunner.Flags(scenario)])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SessionStore__UserIdSessionKey"] = "UserId";
        using var shell = System.Diagnostics.Process.Start(start)!;
        var printed = await shell.StandardOutput.ReadToEndAsync(Token);
        await shell.WaitForExitAsync(Token);

        Assert.EndsWith("exit 130", printed.TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("Interrupted", printed, StringComparison.Ordinal);
        Assert.True(File.Exists(checkpoint), "the checkpoint to resume from was written");
    }

    /// <summary>The tool as its own project builds it (the copy beside the tests runs with the tests' dependencies), in the tests' configuration.</summary>
    private static string ToolPath()
    {
        var output = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        var root = output;
        while (!File.Exists(Path.Combine(root.FullName, "SessionStore.sln")))
        {
            root = root.Parent ?? throw new InvalidOperationException($"No SessionStore.sln above {output.FullName}.");
        }

        return Path.Combine(root.FullName, "src", "SessionStore.Cli", "bin", output.Parent!.Name, output.Name, "SessionStore.Cli");
    }
}
