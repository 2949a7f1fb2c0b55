namespace SessionStore.Rehearsal;

/// <summary>How big a rehearsal is and which servers it runs on.</summary>
public sealed class RehearsalOptions
{
    /// <summary>The PostgreSQL server the sample migrates to.</summary>
    /// <value>Required.</value>
    public string? PostgresConnectionString { get; set; }

    /// <summary>The Redis server the sessions start in (a StackExchange.Redis configuration string).</summary>
    /// <value>Required.</value>
    public string? RedisConfiguration { get; set; }

    /// <summary>The sessions table; null keeps the sample's <c>SessionStore:Postgres:TableName</c>.</summary>
    /// <value>Default null.</value>
    public string? TableName { get; set; }

    /// <summary>The Redis key prefix of sessions, used by the seeding app as well; null keeps the sample's <c>SessionStore:Redis:InstanceName</c>.</summary>
    /// <value>Default null.</value>
    public string? InstanceName { get; set; }

    /// <summary>Sessions seeded through Microsoft's RedisCache that are only ever read afterwards, so they reach PostgreSQL by read-repair alone.</summary>
    /// <value>Default 2,500.</value>
    public int ReadOnlySessions { get; set; } = 2500;

    /// <summary>Sessions seeded through Microsoft's RedisCache that are changed in every phase.</summary>
    /// <value>Default 2,500.</value>
    public int ModifiedSessions { get; set; } = 2500;

    /// <summary>Sessions signed in during each phase, changed in every phase after that.</summary>
    /// <value>Default 300.</value>
    public int NewSessionsPerPhase { get; set; } = 300;

    /// <summary>
    /// Sessions seeded through RedisCache that are changed in <see cref="SessionStorePhase.PostgresOnly"/> only and
    /// just read in every other phase. After the rollback their Redis copies are stale, and only the dual phase's
    /// comparisons can bring them up to date before Redis answers again.
    /// </summary>
    /// <value>Default 0.</value>
    public int ChangedInPostgresOnlySessions { get; set; }

    /// <summary>How many times each session is requested in each phase; every session is touched in every round.</summary>
    /// <value>Default 3: a change, a read and a visit for the sessions that change. At least 1.</value>
    public int RoundsPerPhase { get; set; } = 3;

    /// <summary>Requests in flight at once; each session has at most one.</summary>
    /// <value>Default 8.</value>
    public int Concurrency { get; set; } = 8;

    /// <summary>The longest to wait at the end of each phase for the cache's background comparisons to finish before the next switch.</summary>
    /// <value>Default 30 s.</value>
    public TimeSpan SettleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws when a required setting is missing or a count is out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(PostgresConnectionString) || string.IsNullOrWhiteSpace(RedisConfiguration))
        {
            throw new InvalidOperationException("The rehearsal needs both a PostgreSQL connection string and a Redis configuration string.");
        }

        if (ReadOnlySessions < 0 || ModifiedSessions < 0 || NewSessionsPerPhase < 0 || ChangedInPostgresOnlySessions < 0 || RoundsPerPhase < 1 || Concurrency < 1)
        {
            throw new InvalidOperationException("Session counts must be zero or more, and RoundsPerPhase and Concurrency at least 1.");
        }
    }
}
