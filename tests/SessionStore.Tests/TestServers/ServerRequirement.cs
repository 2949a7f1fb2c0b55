namespace SessionStore.Tests.TestServers;

/// <summary>
/// What a test does when its server could not be had: on CI (the CI variable set) it fails, because a
/// skipped integration test there would be a green run that tested nothing; elsewhere it is skipped with a
/// message saying how to get one.
/// </summary>
internal static class ServerRequirement
{
    public static bool OnCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    public static Exception Unavailable(string server, string reason, string howToGetOne)
    {
        var message = $"No {server} server for the integration tests: {reason}\n{howToGetOne}";
        if (OnCi)
        {
            throw new InvalidOperationException(message);
        }

        Assert.Skip(message);
        return new InvalidOperationException(message);
    }
}
