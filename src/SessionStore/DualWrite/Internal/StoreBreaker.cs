using Polly;
using Polly.CircuitBreaker;

namespace SessionStore.DualWrite.Internal;

/// <summary>
/// A store's circuit breaker (Polly): once enough of its recent calls fail or time out, calls are refused at once
/// for <see cref="SessionStoreOptions.BreakDuration"/>; then one call is let through as a probe, and its success
/// closes the breaker. The settings are read once, when the cache is built.
/// </summary>
internal sealed class StoreBreaker
{
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly TimeProvider _time;
    private long _openUntil;

    public StoreBreaker(StoreKind kind, SessionStoreOptions options, TimeProvider time, Action<StoreKind, TimeSpan> opened, Action<StoreKind> closed)
    {
        Kind = kind;
        _time = time;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakDuration,
                StateProvider = _state,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && StoreFailures.IsStoreFailure(e, args.Context.CancellationToken)),
                OnOpened = args =>
                {
                    Volatile.Write(ref _openUntil, time.GetTimestamp() + (long)(args.BreakDuration.TotalSeconds * time.TimestampFrequency));
                    opened(kind, args.BreakDuration);
                    return default;
                },
                OnClosed = _ =>
                {
                    closed(kind);
                    return default;
                },
            })
            .Build();
    }

    public StoreKind Kind { get; }

    /// <summary>
    /// True while calls are refused without being tried. Once the break is over this turns false even though the
    /// breaker still says open: it moves to half-open only when a call is made, and that call is the probe.
    /// </summary>
    public bool IsOpen => _state.CircuitState switch
    {
        CircuitState.Isolated => true,
        CircuitState.Open => _time.GetTimestamp() < Volatile.Read(ref _openUntil),
        _ => false,
    };

    public DualWriteBreakerState State => _state.CircuitState switch
    {
        CircuitState.Closed => DualWriteBreakerState.Closed,
        CircuitState.HalfOpen => DualWriteBreakerState.HalfOpen,
        _ => DualWriteBreakerState.Open,
    };

    /// <summary>Runs <paramref name="run"/> through the breaker; throws <see cref="BrokenCircuitException"/> when it is refused.</summary>
    public ValueTask<T> ExecuteAsync<T, TState>(Func<TState, CancellationToken, ValueTask<T>> run, TState state, CancellationToken token) =>
        _pipeline.ExecuteAsync(run, state, token);
}
