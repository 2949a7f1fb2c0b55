namespace SessionStore.Migration;

/// <summary>Options for one <see cref="RedisToPostgresBackfill"/> or <see cref="SessionStoreSync"/> run.</summary>
public sealed class BackfillOptions
{
    /// <summary>How many sessions are read from Redis in one pipeline and written to PostgreSQL in one batch.</summary>
    /// <value>Default 500. From 1 to 10,000.</value>
    public int BatchSize { get; set; } = 500;

    /// <summary>The smallest <see cref="RatePerSecond"/>: one session every 1,000 seconds.</summary>
    public const double MinimumRatePerSecond = 0.001;

    /// <summary>The most sessions per second the run reads and writes, to spare both servers under production load.</summary>
    /// <value>Default null (as fast as the servers answer). A finite number, at least <see cref="MinimumRatePerSecond"/>.</value>
    public double? RatePerSecond { get; set; }

    /// <summary>
    /// A file that records how far the listing of the source got after each completed page. A run that finds it resumes from there;
    /// a run that completes deletes it.
    /// </summary>
    /// <value>Default null (no checkpoint: every run starts from the beginning).</value>
    public string? CheckpointPath { get; set; }

    /// <summary>Whether to ignore an existing checkpoint and start from the beginning.</summary>
    /// <value>Default false.</value>
    public bool Restart { get; set; }

    /// <summary>
    /// The most passes over the source. On a Redis Cluster a pass whose topology changed (slots moved, a failover)
    /// may have missed sessions, so another pass follows; after this many the run ends not <see cref="BackfillProgress.Completed"/>.
    /// </summary>
    /// <value>Default 3. From 1 to 100.</value>
    public int MaxPasses { get; set; } = 3;

    internal void ThrowIfInvalid()
    {
        // A blank path was written as ".tmp" beside the process, then failed after the first batch.
        if (CheckpointPath is { } path && string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"{nameof(CheckpointPath)} is '{path}'; give the path of a file, or null for no checkpoint.", nameof(CheckpointPath));
        }

        if (MaxPasses is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPasses), MaxPasses, "The number of passes must be between 1 and 100.");
        }

        if (BatchSize is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be between 1 and 10000.");
        }

        if (RatePerSecond is { } rate && !(rate >= MinimumRatePerSecond && double.IsFinite(rate)))
        {
            throw new ArgumentOutOfRangeException(nameof(RatePerSecond), rate, $"The rate must be a finite number of at least {MinimumRatePerSecond} sessions per second.");
        }
    }
}
