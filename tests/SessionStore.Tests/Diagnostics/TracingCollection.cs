namespace SessionStore.Tests.Diagnostics;

/// <summary>
/// Tracing tests run alone: an activity listener is process-wide, and the test that nobody listens must not meet
/// another test's listener.
/// </summary>
[CollectionDefinition(nameof(TracingCollection), DisableParallelization = true)]
public sealed class TracingCollection;
