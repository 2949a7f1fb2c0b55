using System.Diagnostics;

namespace SessionStore.Tests.Chaos;

/// <summary>One request: when it started (a <see cref="Stopwatch"/> timestamp), how long it took, and what it saw.</summary>
public readonly record struct Visit(long Started, TimeSpan Latency, bool Ok, bool Lost, bool NewVisitor);
