namespace SessionStore.Redis;

/// <summary>
/// A Redis operation of <see cref="RedisSessionCache"/> failed: the server could not be reached (a refused
/// connection), or it refused the command (out of memory under <c>noeviction</c>, a key of another type). The message
/// names the operation and the endpoints; the StackExchange.Redis error is the inner exception. A timeout is a
/// <see cref="SessionStoreTimeoutException"/>.
/// </summary>
public sealed class RedisSessionCacheException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RedisSessionCacheException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public RedisSessionCacheException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The StackExchange.Redis error.</param>
    public RedisSessionCacheException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
