using Microsoft.Extensions.Caching.Distributed;
using SessionStore.LocalServers;
using SessionStore.Migration.Internal;
using SessionStore.Redis;

namespace SessionStore.Tests.Faults;

/// <summary>
/// Session ids are credentials, and the per-user index's key holds the user id: no error the cache or a migration
/// tool raises names either. StackExchange.Redis puts the command's key in its own messages unless told not to,
/// and those messages reached the application's logs (as inner exceptions) and the CLI's output: <c>Timeout
/// awaiting response (… next: HMGET app:&lt;session id&gt; …)</c> from <c>verify</c> on a Redis hung mid-run, and
/// <c>… SMEMBERS app:sessionstore:user:&lt;user id&gt;</c> from <c>revoke</c>.
/// </summary>
[Collection(nameof(FaultsCollection))]
public sealed class RedisKeysInErrorsTests(FaultServers servers, ITestOutputHelper output)
{
    private const string SecretKey = "SECRET-SESSION-ID-0123456789";
    private const string SecretUser = "SECRET-USER-ID-42";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_revoke_against_a_Redis_that_is_not_listening_names_neither_the_user_nor_a_key()
    {
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions { Configuration = $"127.0.0.1:{FreePort.Next()}", UserIdSessionKey = "UserId" });

        var revoke = await Assert.ThrowsAnyAsync<Exception>(() => cache.RevokeUserSessionsAsync(SecretUser, Token));
        var get = await Assert.ThrowsAnyAsync<Exception>(() => cache.GetAsync(SecretKey, Token));

        AssertNamesNoSecret(revoke);
        AssertNamesNoSecret(get);
    }

    [Fact]
    public async Task The_cache_s_errors_on_a_hung_Redis_name_neither_the_user_nor_a_key()
    {
        using var cache = new RedisSessionCache(new RedisSessionCacheOptions
        {
            Configuration = servers.RedisConfiguration,
            InstanceName = $"keys-{Guid.NewGuid():N}:",
            OperationTimeout = TimeSpan.FromMilliseconds(500),
            UserIdSessionKey = "UserId",
        });
        await cache.SetAsync(SecretKey, [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(20) }, Token);
        await using var freezer = await servers.RedisFreezerAsync();
        await freezer.FreezeAsync();

        var errors = new[]
        {
            await Assert.ThrowsAnyAsync<Exception>(() => cache.GetAsync(SecretKey, Token)),
            await Assert.ThrowsAnyAsync<Exception>(() => cache.SetAsync(SecretKey + "-2", [2], new DistributedCacheEntryOptions(), Token)),
            await Assert.ThrowsAnyAsync<Exception>(() => cache.RevokeUserSessionsAsync(SecretUser, Token)),
        };
        await freezer.ThawAsync();

        Assert.All(errors, AssertNamesNoSecret);
    }

    [Fact]
    public async Task A_migration_tool_s_read_of_a_Redis_hung_mid_run_names_no_key()
    {
        var options = new RedisSessionCacheOptions { Configuration = servers.RedisConfiguration, InstanceName = $"keys-{Guid.NewGuid():N}:", OperationTimeout = TimeSpan.FromMilliseconds(500) };
        var source = await RedisSource.ConnectAsync(options, Token);
        await using (source)
        {
            await using var freezer = await servers.RedisFreezerAsync();
            await freezer.FreezeAsync();

            var error = await Assert.ThrowsAnyAsync<Exception>(() => source.ReadAsync([SecretKey], Token));
            await freezer.ThawAsync();

            AssertNamesNoSecret(error);
        }
    }

    private void AssertNamesNoSecret(Exception error)
    {
        // Every message in the chain: a logger writes the inner exceptions too.
        var text = error.ToString();
        output.WriteLine(text.Split('\n')[0]);
        Assert.DoesNotContain(SecretKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretUser, text, StringComparison.Ordinal);
    }
}
