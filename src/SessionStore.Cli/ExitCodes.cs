namespace SessionStore.Cli;

/// <summary>The process exit codes, documented in docs/cli.md.</summary>
internal static class ExitCodes
{
    /// <summary>Done; for <c>verify</c>, no confirmed mismatch.</summary>
    public const int Success = 0;

    /// <summary>The command ran and found problems: <c>verify</c> confirmed mismatches, <c>backfill</c> could not copy some sessions.</summary>
    public const int ProblemsFound = 1;

    /// <summary>Bad arguments or configuration, or a precondition not met (such as a missing session table).</summary>
    public const int UsageError = 2;

    /// <summary>A server could not be reached or failed.</summary>
    public const int ServerError = 3;

    /// <summary>
    /// <c>backfill</c> or <c>sync</c> ended without listing every session: a Redis Cluster's slots moved (or a failover
    /// happened) during each of its passes. Run it again once the cluster holds still, or run <c>verify --full</c>.
    /// </summary>
    public const int Incomplete = 4;

    /// <summary>
    /// A failure the tool does not expect (a bug, or a case it does not handle), printed as one line with its type. Not
    /// <see cref="ProblemsFound"/>: a script reads that as the command having run.
    /// </summary>
    public const int UnexpectedError = 5;

    /// <summary>Interrupted (Ctrl+C); <c>backfill</c> resumes from its checkpoint when run again.</summary>
    public const int Interrupted = 130;
}
