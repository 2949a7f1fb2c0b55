using System.Globalization;

namespace SessionStore.Cleanup;

/// <summary>
/// Options for <see cref="PostgresSessionCleaner"/> and the hosted service that runs it (configuration section
/// <c>SessionStore:Cleanup</c>). Read again at every run, so a reloaded configuration applies without a restart.
/// </summary>
/// <remarks>
/// Every option here is live. A reloaded value outside its range is not applied: the registered services log an
/// error (event <see cref="SessionStoreEventIds.OptionsReloadRefused"/>) naming the key and its allowed range, and
/// go on with the last valid options until the configuration is fixed.
/// </remarks>
public sealed class PostgresCleanupOptions
{
    /// <summary>
    /// Whether the hosted service cleans up. When false each scheduled run does nothing (an on-demand
    /// <see cref="PostgresSessionCleaner.RunOnceAsync"/> still runs).
    /// </summary>
    /// <value>Default true.</value>
    /// <remarks>Live: read at every run.</remarks>
    public bool Enabled { get; set; } = true;

    /// <summary>The mean time between the start of one scheduled run and the next.</summary>
    /// <value>Default 5 minutes. From 1 second to 1 day.</value>
    /// <remarks>Live: read at every run.</remarks>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How far, as a fraction of <see cref="Interval"/>, each wait may be shortened or lengthened at random, so
    /// that instances started together do not all try at the same moment.
    /// </summary>
    /// <value>Default 0.2 (each wait between 0.8 and 1.2 intervals). From 0 to 0.5.</value>
    /// <remarks>Live: read at every run.</remarks>
    public double Jitter { get; set; } = 0.2;

    /// <summary>The most rows one batch deletes, in one short transaction.</summary>
    /// <value>Default 1,000. From 1 to 100,000.</value>
    /// <remarks>Live: read at every run.</remarks>
    public int BatchSize { get; set; } = 1_000;

    /// <summary>A run stops starting new batches after this long; what is left waits for the next run.</summary>
    /// <value>Default 1 minute. From 1 second to 1 hour.</value>
    /// <remarks>Live: read at every run.</remarks>
    public TimeSpan MaximumRunTime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The pause after each full batch, leaving the database to the application.</summary>
    /// <value>Default 100 milliseconds. From 0 to 1 minute.</value>
    /// <remarks>Live: read at every run.</remarks>
    public TimeSpan PauseBetweenBatches { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The <c>statement_timeout</c> of each batch and partition maintenance transaction. The cleaner waits for one at
    /// most this plus the cache's <see cref="SessionCacheProviderOptions.OperationTimeout"/>, then takes the server to
    /// be hung and fails the run (<see cref="SessionStoreTimeoutException"/>).
    /// </summary>
    /// <value>Default 30 seconds. From 100 milliseconds to 10 minutes.</value>
    /// <remarks>Live: read at every run.</remarks>
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The <c>lock_timeout</c> for creating and dropping partitions (partitioned tables only). Those take a
    /// brief exclusive lock on the table, and statements queue behind a waiting request, so the wait is kept
    /// short: when it runs out, maintenance is postponed to the next run.
    /// </summary>
    /// <value>Default 250 milliseconds. From 1 millisecond to 1 minute.</value>
    /// <remarks>Live: read at every run.</remarks>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Set when the section these options are part of could not be bound (<see cref="SessionStoreOptions.BindingFailure"/>).</summary>
    internal string? BindingFailure { get; set; }

    /// <summary>Lists every invalid setting; empty when the options can be used.</summary>
    /// <returns>One message per invalid setting, naming it, its value and what is allowed.</returns>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (BindingFailure is not null)
        {
            failures.Add(BindingFailure);
            return failures;
        }

        Range(nameof(Interval), Interval, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        if (!(Jitter is >= 0 and <= 0.5))
        {
            failures.Add($"{nameof(Jitter)} is {Jitter.ToString(CultureInfo.InvariantCulture)}; it must be between 0 and 0.5.");
        }

        if (BatchSize is < 1 or > 100_000)
        {
            failures.Add($"{nameof(BatchSize)} is {BatchSize}; it must be between 1 and 100000.");
        }

        Range(nameof(MaximumRunTime), MaximumRunTime, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Range(nameof(PauseBetweenBatches), PauseBetweenBatches, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Range(nameof(StatementTimeout), StatementTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        Range(nameof(LockTimeout), LockTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        return failures;

        void Range(string option, TimeSpan value, TimeSpan minimum, TimeSpan maximum)
        {
            if (value < minimum || value > maximum)
            {
                failures.Add($"{option} is {Format(value)}; it must be between {Format(minimum)} and {Format(maximum)}.");
            }
        }

        static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
    }
}
