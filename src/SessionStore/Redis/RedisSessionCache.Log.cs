using Microsoft.Extensions.Logging;

namespace SessionStore.Redis;

public sealed partial class RedisSessionCache
{
    [LoggerMessage(SessionStoreEventIds.RedisScriptingUnavailable, LogLevel.Warning,
        "The Redis server at {Endpoints} refuses scripts ({Reason}); reads now use plain commands, which cost a second round trip when a sliding expiry is extended.")]
    private partial void LogScriptingUnavailable(string endpoints, string reason);

    [LoggerMessage(SessionStoreEventIds.RedisUserIndexNotExtended, LogLevel.Warning,
        "A touch of key hash {KeyHash} extended the session, but not its user's index ({Reason}): the next touch tries again; until then \"log out everywhere\" may miss the session if the index expires first.")]
    private partial void LogUserIndexNotExtended(string keyHash, string reason);

    [LoggerMessage(SessionStoreEventIds.RedisRetriedWhileClusterChanges, LogLevel.Debug,
        "Redis {Operation} was refused while the cluster changed ({Reason}); retrying (attempt {Attempt} failed).")]
    private partial void LogRetriedWhileClusterChanges(string operation, int attempt, string reason);
}
