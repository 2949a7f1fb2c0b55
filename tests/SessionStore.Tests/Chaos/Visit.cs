using System.Diagnostics;

namespace SessionStore.Tests.Chaos;

/// <summary>
/// One request: when it started (a <see cref="Stopwatch"/> timestamp), how long it took, what it saw, and why it
/// failed when it did (the status and body, or the exception), for the assertion's message.
/// </summary>
public readonly record struct Visit(long Started, TimeSpan Latency, bool Ok, bool Lost, bool NewVisitor, string? Failure = null);
