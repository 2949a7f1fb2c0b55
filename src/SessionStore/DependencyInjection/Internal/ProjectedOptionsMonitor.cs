using Microsoft.Extensions.Options;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>Options that are part of larger options (such as <c>SessionStore:Cleanup</c>), seen as options of their own, live.</summary>
internal sealed class ProjectedOptionsMonitor<TSource, TOptions>(IOptionsMonitor<TSource> source, Func<TSource, TOptions> project) : IOptionsMonitor<TOptions>
{
    public TOptions CurrentValue => project(source.CurrentValue);

    public TOptions Get(string? name) => project(source.Get(name));

    public IDisposable? OnChange(Action<TOptions, string?> listener) => source.OnChange((options, name) => listener(project(options), name));
}
