using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Distributed;

namespace SessionStore.Tests.Cluster;

/// <summary>
/// The application's <see cref="IDistributedCache"/>, counting every operation and every failure with its message:
/// ASP.NET Core's session middleware swallows a failed load (the request goes on with an empty session), so failed
/// requests alone would undercount.
/// </summary>
public sealed class CountingCache(IDistributedCache inner) : IDistributedCache
{
    private long _operations;
    private long _failures;

    public long Operations => Interlocked.Read(ref _operations);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Each distinct failure message and how often it was seen.</summary>
    public ConcurrentDictionary<string, int> Errors { get; } = new();

    public byte[]? Get(string key) => Count(() => inner.Get(key));

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => CountAsync(() => inner.GetAsync(key, token));

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => Count(() => { inner.Set(key, value, options); return true; });

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) =>
        CountAsync(async () => { await inner.SetAsync(key, value, options, token); return true; });

    public void Refresh(string key) => Count(() => { inner.Refresh(key); return true; });

    public Task RefreshAsync(string key, CancellationToken token = default) => CountAsync(async () => { await inner.RefreshAsync(key, token); return true; });

    public void Remove(string key) => Count(() => { inner.Remove(key); return true; });

    public Task RemoveAsync(string key, CancellationToken token = default) => CountAsync(async () => { await inner.RemoveAsync(key, token); return true; });

    public string Summary(int errorCount = 3) =>
        $"{Operations} cache operations, {Failures} failed{(Errors.IsEmpty ? "" : ": " + string.Join(" | ", Errors.OrderByDescending(e => e.Value).Take(errorCount).Select(e => $"{e.Value}x {e.Key}")))}";

    private T Count<T>(Func<T> run)
    {
        Interlocked.Increment(ref _operations);
        try
        {
            return run();
        }
        catch (Exception e)
        {
            Record(e);
            throw;
        }
    }

    private async Task<T> CountAsync<T>(Func<Task<T>> run)
    {
        Interlocked.Increment(ref _operations);
        try
        {
            return await run();
        }
        catch (Exception e)
        {
            Record(e);
            throw;
        }
    }

    private void Record(Exception e)
    {
        Interlocked.Increment(ref _failures);
        var message = $"{e.GetType().Name}: {e.Message}";
        Errors.AddOrUpdate(message.Length > 200 ? message[..200] : message, 1, (_, n) => n + 1);
    }
}
