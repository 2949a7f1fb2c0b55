using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// One store, built the first time a phase needs it from the options in force then, and built again when its
/// connection settings change. A failed build is not remembered: a malformed connection string entered by a live
/// edit fails that phase switch only, and the corrected setting works without a restart. A store built again reads
/// and writes elsewhere (another table, server or instance name), where the sessions of the previous one are not:
/// <paramref name="rebuilt"/> hears which keys changed, so that it is never silent.
/// </summary>
internal sealed class RebuildableStore(
    StoreKind kind,
    Func<SessionStoreOptions> options,
    Func<SessionStoreOptions, ConnectionSettings.Setting[]> connectionSettings,
    Func<SessionStoreOptions, ISessionCacheProvider> build,
    Action<StoreUnavailableException> keptPrevious,
    Action<StoreKind, string[]> rebuilt,
    TimeProvider time) : IDisposable
{
    // A replaced store is disposed only after this: requests that picked it up just before the change finish first.
    private static readonly TimeSpan RetirementDelay = TimeSpan.FromSeconds(30);
    private readonly Lock _lock = new();
    private readonly List<IDisposable> _retired = [];
    private Built? _current;
    private SessionStoreOptions? _failedSource;
    private bool _disposed;

    /// <summary>The store, built now if needed; throws <see cref="StoreUnavailableException"/> when it cannot be.</summary>
    public ISessionCacheProvider Get()
    {
        // The options object is replaced only when configuration reloads, so the common case is one reference check.
        var current = options();
        if (Volatile.Read(ref _current) is { } built && (ReferenceEquals(built.Source, current) || ReferenceEquals(_failedSource, current)))
        {
            return built.Store;
        }

        var settings = connectionSettings(current);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var previous = _current;
            var changed = previous is null ? [] : ConnectionSettings.Changed(previous.Settings, settings);
            if (previous is not null && changed.Length == 0)
            {
                Volatile.Write(ref _current, previous with { Source = current });
                return previous.Store;
            }

            ISessionCacheProvider store;
            try
            {
                store = build(current);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                var failure = new StoreUnavailableException(kind, e);
                if (previous is null)
                {
                    throw failure;
                }

                // New settings that do not work must not take down a store that does: keep it, say so once per edit.
                Volatile.Write(ref _failedSource, current);
                keptPrevious(failure);
                return previous.Store;
            }

            if (previous is { Store: IDisposable replaced })
            {
                Retire(replaced);
            }

            Volatile.Write(ref _current, new Built(store, settings, current));
            if (previous is not null)
            {
                rebuilt(kind, changed);
            }

            return store;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            (_current?.Store as IDisposable)?.Dispose();
            _retired.ForEach(r => r.Dispose());
            _retired.Clear();
        }
    }

    private void Retire(IDisposable store)
    {
        _retired.Add(store);
        _ = Task.Delay(RetirementDelay, time).ContinueWith(
            _ =>
            {
                lock (_lock)
                {
                    if (_retired.Remove(store))
                    {
                        store.Dispose();
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private sealed record Built(ISessionCacheProvider Store, ConnectionSettings.Setting[] Settings, SessionStoreOptions Source);
}
