using Spectre.Console;

namespace SessionStore.Rehearsal;

/// <summary>Shows each stage of the rehearsal as a progress bar of its own.</summary>
internal sealed class ProgressMonitor(ProgressContext context) : IRehearsalMonitor
{
    private ProgressTask? _current;

    public void StageStarted(string description, int steps)
    {
        _current?.StopTask();
        _current = context.AddTask(Markup.Escape(description), maxValue: Math.Max(steps, 1));
    }

    public void StepDone() => _current?.Increment(1);
}
