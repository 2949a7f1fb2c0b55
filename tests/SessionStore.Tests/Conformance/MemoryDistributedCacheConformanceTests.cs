using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace SessionStore.Tests.Conformance;

/// <summary>Microsoft's in-memory cache, the reference the conformance suite itself is checked against.</summary>
public sealed class MemoryDistributedCacheConformanceTests : DistributedCacheConformanceTests
{
    protected override IDistributedCache Cache { get; } =
        new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
}
