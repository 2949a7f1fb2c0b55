using System.Diagnostics;
using System.Globalization;

namespace SessionStore.Diagnostics;

/// <summary>
/// The spans of <see cref="SessionStoreTracing.ActivitySourceName"/>. Each start returns null when nobody listens, so
/// an application without tracing pays one check. Tags are low-cardinality names, never a key: a session id is a
/// credential, and even a hash of it in every span would let anyone who reads traces follow one user's requests.
/// </summary>
internal static class SessionStoreActivities
{
    public static readonly ActivitySource Source = new(
        SessionStoreTracing.ActivitySourceName,
        typeof(SessionStoreActivities).Assembly.GetName().Version?.ToString(3));

    /// <summary>A client span for one store call, current while the driver runs, so the driver's own spans become its children.</summary>
    public static Activity? StartStoreCall(string store, string operation, string target)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var (collection, address, port) = TargetOf(store, target);
        var name = collection ?? (address is null ? null : port is null ? address : $"{address}:{port.Value.ToString(CultureInfo.InvariantCulture)}");
        var activity = Source.StartActivity(name is null ? operation : $"{operation} {name}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("db.system.name", store);
            activity.SetTag("db.operation.name", operation);
            activity.SetTag("db.collection.name", collection);
            activity.SetTag("server.address", address);
            activity.SetTag("server.port", port);
        }

        return activity;
    }

    /// <summary>The span of one <c>DualWriteCache</c> operation: its store calls are its children.</summary>
    public static Activity? StartOperation(string operation, SessionStorePhase phase)
    {
        var activity = Source.StartActivity($"SessionStore {operation}", ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(SessionStoreTracing.OperationAttribute, operation);
            activity.SetTag(SessionStoreTracing.PhaseAttribute, phase.ToString());
        }

        return activity;
    }

    /// <summary>
    /// Runs one <c>DualWriteCache</c> operation inside its span; without a listener, just runs it. The phase is read
    /// through <paramref name="phaseOf"/> only when traced, and the state spares a closure when not.
    /// </summary>
    public static ValueTask<T> TraceOperationAsync<TState, T>(
        string operation, TState state, Func<TState, SessionStorePhase> phaseOf, Func<TState, ValueTask<T>> run, CancellationToken token) =>
        Source.HasListeners() ? TracedAsync(operation, phaseOf(state), state, run, token) : run(state);

    /// <inheritdoc cref="TraceOperationAsync{TState, T}"/>
    public static ValueTask TraceOperationAsync<TState>(
        string operation, TState state, Func<TState, SessionStorePhase> phaseOf, Func<TState, ValueTask> run, CancellationToken token) =>
        Source.HasListeners()
            ? new ValueTask(TracedAsync(operation, phaseOf(state), (state, run), static async s =>
            {
                await s.run(s.state).ConfigureAwait(false);
                return true;
            }, token).AsTask())
            : run(state);

    /// <summary>
    /// Marks the span failed and returns false, for an exception filter that records without catching. A call the
    /// caller cancelled is not a store failure and leaves the status unset.
    /// </summary>
    public static bool Failed(Activity? activity, Exception e, CancellationToken token)
    {
        if (activity is null || (e is OperationCanceledException && token.IsCancellationRequested))
        {
            return false;
        }

        // The type, not the message: a driver's message may quote a value, and a value may be a key.
        var type = e.GetType().FullName ?? e.GetType().Name;
        activity.SetStatus(ActivityStatusCode.Error, type);
        activity.SetTag("error.type", type);
        return false;
    }

    private static async ValueTask<T> TracedAsync<TState, T>(string operation, SessionStorePhase phase, TState state, Func<TState, ValueTask<T>> run, CancellationToken token)
    {
        using var activity = StartOperation(operation, phase);
        try
        {
            return await run(state).ConfigureAwait(false);
        }
        catch (Exception e) when (Failed(activity, e, token))
        {
            throw;
        }
    }

    /// <summary>The secondary was not called: its circuit breaker is open, or the key's call timed out moments ago.</summary>
    public static void SecondarySkipped(string store, string operation) =>
        Activity.Current?.AddEvent(new ActivityEvent("sessionstore.secondary_skipped", tags: new ActivityTagsCollection
        {
            ["db.system.name"] = store,
            ["db.operation.name"] = operation,
            ["sessionstore.breaker"] = "skip",
        }));

    /// <summary>A primary miss was copied from the secondary into <paramref name="store"/>.</summary>
    public static void ReadRepaired(string store) =>
        Activity.Current?.AddEvent(new ActivityEvent("sessionstore.read_repair", tags: new ActivityTagsCollection { ["db.system.name"] = store }));

    /// <summary>The primary failed and the read was answered by the secondary.</summary>
    public static void FailedOver(string failedStore) =>
        Activity.Current?.AddEvent(new ActivityEvent("sessionstore.failover", tags: new ActivityTagsCollection { ["db.system.name"] = failedStore }));

    /// <summary>
    /// PostgreSQL's target is its table (<c>schema.table</c>); Redis's is its endpoint list, of which a single
    /// <c>host:port</c> becomes <c>server.address</c> and <c>server.port</c>.
    /// </summary>
    private static (string? Collection, string? Address, int? Port) TargetOf(string store, string target)
    {
        if (store == "postgresql")
        {
            return (target, null, null);
        }

        var colon = target.LastIndexOf(':');
        if (colon <= 0 || target.Contains(' ', StringComparison.Ordinal)
            || !int.TryParse(target.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            return (null, null, null);
        }

        return (null, target[..colon].Trim('[', ']'), port);
    }
}
