namespace SessionStore.Internal;

/// <summary>Argument checks shared by the providers, run before any I/O. Messages never echo a key: it is a credential.</summary>
internal static class CacheArguments
{
    public static void ValidateKey(string key, int maximumLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Length > maximumLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(key),
                key.Length,
                $"A cache key has at most {maximumLength} characters; this one has {key.Length}.");
        }
    }

    public static void ValidateValueLength(long length, int maximumLength, string optionName)
    {
        if (length > maximumLength)
        {
            throw new ArgumentOutOfRangeException(
                "value",
                length,
                $"A cache value has at most {maximumLength} bytes ({optionName}); this one has {length}.");
        }
    }
}
