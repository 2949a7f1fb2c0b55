using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Options;
using SessionStore.Postgres;

namespace SessionStore.Tests.Postgres;

/// <summary>
/// Bad input is refused before any I/O: these caches point at a port where nothing listens, so an argument
/// exception (rather than a connection error) proves no store was touched.
/// </summary>
public sealed class PostgresSessionCacheArgumentTests : IDisposable
{
    private readonly PostgresSessionCache _cache = new(new PostgresSessionCacheOptions
    {
        ConnectionString = "Host=127.0.0.1;Port=1;Timeout=1",
        MaximumValueSize = 1024,
    });

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Empty_keys_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _cache.GetAsync("", Token));
        await Assert.ThrowsAsync<ArgumentException>(() => _cache.SetAsync("", [1], new DistributedCacheEntryOptions(), Token));
        await Assert.ThrowsAsync<ArgumentException>(() => _cache.RefreshAsync("", Token));
        Assert.Throws<ArgumentException>(() => _cache.Remove(""));
    }

    [Fact]
    public async Task A_key_longer_than_the_column_is_refused_with_its_length_but_not_its_text()
    {
        var key = new string('s', PostgresSessionCache.MaximumKeyLength + 1);
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _cache.GetAsync(key, Token));
        Assert.Equal("key", error.ParamName);
        Assert.Contains("at most 255 characters", error.Message, StringComparison.Ordinal);
        Assert.Contains("256", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_over_the_maximum_size_is_refused()
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => _cache.SetAsync(Guid.NewGuid().ToString(), new byte[1025], new DistributedCacheEntryOptions(), Token));
        Assert.Contains("1024", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(PostgresSessionCacheOptions.MaximumValueSize), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_null_value_or_options_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(() => _cache.SetAsync("k", null!, new DistributedCacheEntryOptions(), Token));
        await Assert.ThrowsAsync<ArgumentNullException>(() => _cache.SetAsync("k", [1], null!, Token));
        Assert.Throws<ArgumentNullException>(() => _cache.TryGet("k", null!));
    }

    [Fact]
    public void A_past_absolute_expiration_is_refused_before_any_io() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _cache.Set("k", [1], new DistributedCacheEntryOptions { AbsoluteExpiration = DateTimeOffset.UtcNow.AddMinutes(-1) }));

    [Fact]
    public void Invalid_options_are_listed_in_one_error_when_the_cache_is_built()
    {
        var options = new PostgresSessionCacheOptions { TouchThreshold = 0.9, MaximumValueSize = 0, TableName = new string('t', 51), SchemaName = "" };

        var error = Assert.Throws<OptionsValidationException>(() => new PostgresSessionCache(Options.Create(options)));

        Assert.Contains(error.Failures, f => f.Contains("TouchThreshold is 0.9", StringComparison.Ordinal) && f.Contains("between 0 and 0.5", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MaximumValueSize is 0", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("ConnectionString", StringComparison.Ordinal) && f.Contains("DataSource", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("TableName", StringComparison.Ordinal) && f.Contains("at most 50", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("SchemaName is empty", StringComparison.Ordinal));
    }

    public void Dispose() => _cache.Dispose();
}
