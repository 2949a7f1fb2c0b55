namespace SessionStore.Cli;

/// <summary>A mistake in the arguments or configuration; its message is shown as it is, with exit code 2.</summary>
internal sealed class CliUsageException(string message) : Exception(message);
