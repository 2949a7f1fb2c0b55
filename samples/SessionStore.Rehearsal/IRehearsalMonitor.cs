namespace SessionStore.Rehearsal;

/// <summary>Follows a rehearsal's progress: stages one after the other, each a known number of steps.</summary>
public interface IRehearsalMonitor
{
    /// <summary>A monitor that ignores everything.</summary>
    static IRehearsalMonitor None { get; } = new NoMonitor();

    /// <summary>A new stage begins; the previous one is over.</summary>
    /// <param name="description">What the stage does.</param>
    /// <param name="steps">How many steps it has.</param>
    void StageStarted(string description, int steps);

    /// <summary>One step of the current stage is done; called from several threads at once.</summary>
    void StepDone();

    private sealed class NoMonitor : IRehearsalMonitor
    {
        public void StageStarted(string description, int steps)
        {
        }

        public void StepDone()
        {
        }
    }
}
