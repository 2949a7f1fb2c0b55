namespace SessionStore.Tests.Chaos;

/// <summary>
/// The chaos tests' measurements: sent as diagnostic messages and appended to <c>chaos-report.txt</c> beside the
/// test assembly (or the file SESSIONSTORE_CHAOS_REPORT names), so a passing run still shows its figures.
/// </summary>
internal static class ChaosReport
{
    private static readonly Lock Gate = new();

    public static string FilePath => Environment.GetEnvironmentVariable("SESSIONSTORE_CHAOS_REPORT") ?? Path.Combine(AppContext.BaseDirectory, "chaos-report.txt");

    public static void Write(string line)
    {
        TestContext.Current.SendDiagnosticMessage(line);
        lock (Gate)
        {
            File.AppendAllText(FilePath, $"{DateTime.UtcNow:u} {line}{Environment.NewLine}");
        }
    }
}
