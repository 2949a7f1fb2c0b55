namespace SessionStore;

/// <summary>Options every SessionStore cache provider shares.</summary>
public abstract class SessionCacheProviderOptions
{
    /// <summary>The default for <see cref="TouchThreshold"/>: a tenth of the sliding window.</summary>
    public const double DefaultTouchThreshold = 0.1;

    /// <summary>The default for <see cref="MaximumValueSize"/>: 8 MiB.</summary>
    public const int DefaultMaximumValueSize = 8 * 1024 * 1024;

    /// <summary>
    /// How far, as a fraction of an entry's sliding window, its expiry must have fallen behind before a read
    /// or refresh writes the new expiry to the store. Writing less often is what makes a read-only session
    /// request cost one round trip and almost no writes; the price is that an entry may expire up to this
    /// fraction of its window early.
    /// </summary>
    /// <value>Default 0.1. From 0 (write on every read, like Microsoft's providers) to 0.5.</value>
    public double TouchThreshold { get; set; } = DefaultTouchThreshold;

    /// <summary>
    /// The session key whose text value names the signed-in user, stored beside the session so that all
    /// sessions of one user can be found and revoked at once. Null leaves the user unrecorded; so does a blank value
    /// in a session (an application that blanks the key on sign-out).
    /// </summary>
    /// <value>Default null.</value>
    public string? UserIdSessionKey { get; set; }

    /// <summary>The largest value, in bytes, that <c>Set</c> accepts; a larger one is refused before any I/O.</summary>
    /// <value>Default 8 MiB. From 1 byte to 256 MiB.</value>
    public int MaximumValueSize { get; set; } = DefaultMaximumValueSize;

    /// <summary>
    /// How long one operation (read, write, refresh, remove, revoke, health ping, the first use's schema
    /// creation or connection) may take before it fails with a <see cref="SessionStoreTimeoutException"/>
    /// naming the store and the operation. A hung server accepts connections and never answers; without this
    /// bound a request waits for the drivers' own timeouts (30 s and more). Asynchronous calls are bounded
    /// exactly; synchronous ones through the driver settings the cache derives from this value on connections
    /// it builds itself (see docs/postgres.md and docs/redis.md).
    /// </summary>
    /// <value>Default 5 seconds. From 10 milliseconds to 5 minutes.</value>
    public TimeSpan OperationTimeout { get; set; } = DefaultOperationTimeout;

    /// <summary>The default for <see cref="OperationTimeout"/>: 5 seconds.</summary>
    public static readonly TimeSpan DefaultOperationTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The shortest <see cref="OperationTimeout"/> accepted.</summary>
    public static readonly TimeSpan MinimumOperationTimeout = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest <see cref="OperationTimeout"/> accepted.</summary>
    public static readonly TimeSpan MaximumOperationTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Lists every invalid setting; empty when the options can be used.</summary>
    /// <returns>One message per invalid setting, naming it, its value and what is allowed.</returns>
    public abstract IReadOnlyList<string> Validate();

    /// <summary>The user key as UTF-8, as it appears in session payloads; empty when none is set.</summary>
    internal byte[] UserIdSessionKeyUtf8 => UserIdSessionKey is { } key ? System.Text.Encoding.UTF8.GetBytes(key) : [];

    /// <summary>Throws, before any I/O, when a setting is invalid; the message lists each one.</summary>
    internal void ThrowIfInvalid()
    {
        var failures = Validate();
        if (failures.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(GetType().Name, GetType(), failures);
        }
    }

    /// <summary>Appends a description of each invalid setting to <paramref name="failures"/>.</summary>
    /// <param name="failures">The list of failures to add to.</param>
    protected void ValidateShared(ICollection<string> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (!(TouchThreshold is >= 0 and <= 0.5))
        {
            failures.Add($"{nameof(TouchThreshold)} is {TouchThreshold}; it must be between 0 and 0.5.");
        }

        if (MaximumValueSize is < 1 or > 256 * 1024 * 1024)
        {
            failures.Add($"{nameof(MaximumValueSize)} is {MaximumValueSize}; it must be between 1 and {256 * 1024 * 1024} bytes.");
        }

        if (OperationTimeout < MinimumOperationTimeout || OperationTimeout > MaximumOperationTimeout)
        {
            failures.Add($"{nameof(OperationTimeout)} is {OperationTimeout}; it must be between {MinimumOperationTimeout.TotalMilliseconds} ms and {MaximumOperationTimeout.TotalMinutes} minutes.");
        }

        if (Unusable(UserIdSessionKey) is { } what)
        {
            failures.Add($"{nameof(UserIdSessionKey)} is {what}; leave it null to record no user, or name a session key.");
        }
    }

    /// <summary>
    /// "empty" or "blank" when <paramref name="userIdSessionKey"/> is set but names no session key an application sets
    /// (no user would ever be recorded, silently); null when it is unset or names one.
    /// </summary>
    internal static string? Unusable(string? userIdSessionKey) =>
        userIdSessionKey is { } key && string.IsNullOrWhiteSpace(key) ? (key.Length == 0 ? "empty" : "blank") : null;
}
