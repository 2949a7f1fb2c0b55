namespace SessionStore.Internal;

/// <summary>Argument checks shared by the providers, run before any I/O. Messages never echo a key: it is a credential.</summary>
/// <remarks>
/// One key rule for every store and every phase (docs/security.md, "Keys, values and expiry"), so that a key one
/// store accepts is never refused, truncated or merged with another key by the other: 1 to
/// <see cref="MaximumKeyLength"/> UTF-16 code units, well-formed UTF-16 (a lone surrogate would be replaced by
/// U+FFFD on its way to Redis, mapping distinct keys to one), no U+0000 (PostgreSQL text cannot hold it), and not
/// starting with the prefix of Redis's per-user index (docs/security.md).
/// </remarks>
internal static class CacheArguments
{
    /// <summary>The longest key, in UTF-16 code units: PostgreSQL's <c>sid varchar(255)</c>, applied to every store.</summary>
    public const int MaximumKeyLength = 255;

    /// <summary>Throws, before any I/O, when <paramref name="key"/> breaks the key rule.</summary>
    /// <exception cref="ArgumentNullException">The key is null.</exception>
    /// <exception cref="ArgumentException">The key is empty, holds U+0000, starts with the per-user index's prefix or is not well-formed UTF-16.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The key is longer than <see cref="MaximumKeyLength"/>.</exception>
    public static void ValidateKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Length > MaximumKeyLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(key),
                key.Length,
                $"A cache key has at most {MaximumKeyLength} characters; this one has {key.Length}.");
        }

        if (key.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A cache key cannot contain U+0000 (PostgreSQL text cannot hold it); this one does at index {key.IndexOf('\0', StringComparison.Ordinal)}.", nameof(key));
        }

        if (key.StartsWith(Redis.Internal.RedisUserIndex.Infix, StringComparison.Ordinal))
        {
            // Applied to every store, as the whole rule: a key one store accepts works in every phase.
            throw new ArgumentException($"A cache key cannot start with '{Redis.Internal.RedisUserIndex.Infix}', the prefix of the per-user index that \"log out everywhere\" reads in Redis; this one does.", nameof(key));
        }

        if (IndexOfInvalidUtf16(key) is var invalid and >= 0)
        {
            throw new ArgumentException(
                $"A cache key must be well-formed UTF-16; this one has an unpaired surrogate at index {invalid}, which a store would turn into U+FFFD and so merge with other keys.",
                nameof(key));
        }
    }

    /// <summary>
    /// Throws, before any I/O, when <paramref name="userId"/> cannot name a user: null, blank, holding U+0000, which
    /// PostgreSQL text cannot hold (and which no stored session names, see <see cref="SessionPayload.FindUserId"/>),
    /// or not well-formed UTF-16.
    /// </summary>
    /// <remarks>
    /// A stored user id is decoded from UTF-8, so it is always well-formed; a lone surrogate is not one, and would be
    /// encoded as U+FFFD on its way to Redis: "x\uD800" named the index of "x\uFFFD", whose sessions the revoke then
    /// saw as another user's and dropped from that user's index (they survived that user's next "log out everywhere").
    /// </remarks>
    /// <exception cref="ArgumentNullException">The user id is null.</exception>
    /// <exception cref="ArgumentException">The user id is blank, holds U+0000 or is not well-formed UTF-16.</exception>
    public static void ValidateUserId(string userId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        if (userId.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A user id cannot contain U+0000 (PostgreSQL text cannot hold it, so no session names such a user); this one does at index {userId.IndexOf('\0', StringComparison.Ordinal)}.", nameof(userId));
        }

        // The id itself is not quoted: it is often an e-mail address, and messages end up in logs.
        if (IndexOfInvalidUtf16(userId) is var invalid and >= 0)
        {
            throw new ArgumentException(
                $"A user id must be well-formed UTF-16; this one has an unpaired surrogate at index {invalid}, which a store would turn into U+FFFD and so name another user (no session names such a user).",
                nameof(userId));
        }
    }

    /// <summary>The longest user id a session may name, in UTF-8 bytes: PostgreSQL's index on <c>user_id</c> holds at most about 2,700.</summary>
    public const int MaximumUserIdBytes = 1024;

    /// <summary>
    /// Throws, before any I/O, when the user id a value names under the UserIdSessionKey is longer than
    /// <see cref="MaximumUserIdBytes"/>: PostgreSQL would refuse the write, and in a dual phase each refusal would
    /// count against the store's circuit breaker for every user. The id is not quoted (often an e-mail address).
    /// </summary>
    public static void ValidateRecordedUserId(string? userId)
    {
        if (userId is not null && System.Text.Encoding.UTF8.GetByteCount(userId) is var bytes and > MaximumUserIdBytes)
        {
            throw new ArgumentException(
                $"The session names a user id of {bytes} UTF-8 bytes under its UserIdSessionKey; at most {MaximumUserIdBytes} can be recorded for \"log out everywhere\". Store a shorter id (a user's key, not a whole profile) under that key.",
                "value");
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

    /// <summary>The index of the first unpaired surrogate, or -1 when <paramref name="text"/> is well-formed UTF-16.</summary>
    internal static int IndexOfInvalidUtf16(ReadOnlySpan<char> text)
    {
        var offset = 0;
        while (text[offset..].IndexOfAnyInRange('\uD800', '\uDFFF') is var found and >= 0)
        {
            var i = offset + found;
            if (!char.IsHighSurrogate(text[i]) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
            {
                return i;
            }

            offset = i + 2;
        }

        return -1;
    }
}
