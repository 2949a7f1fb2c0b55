namespace SessionStore.Benchmarks;

internal static class ToastMeasurement
{
    public static Task RunAsync() => Task.CompletedTask;
}
