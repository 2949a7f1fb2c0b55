using Microsoft.Extensions.Options;

namespace SessionStore.Tests.Cleanup;

/// <summary>An options monitor whose value a test changes at will, as a configuration reload would.</summary>
public sealed class MutableOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue { get; set; } = value;

    public T Get(string? name) => CurrentValue;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
