using SessionStore.Internal;

namespace SessionStore.DualWrite.Internal;

/// <summary>How two stores' copies of one entry differ, if they do.</summary>
internal static class SessionComparison
{
    public static SessionMismatchKind? Classify(StoredEntry primary, StoredEntry? secondary, TimeSpan expiryTolerance)
    {
        if (secondary is null)
        {
            return SessionMismatchKind.MissingInSecondary;
        }

        if (!SameValue(primary.Value, secondary.Value))
        {
            return SessionMismatchKind.ValueDiffers;
        }

        var sameTimeLeft = (primary.Expiry.Remaining, secondary.Expiry.Remaining) switch
        {
            (null, null) => true,
            ({ } p, { } s) => (p - s).Duration() <= expiryTolerance,
            _ => false,
        };
        return sameTimeLeft && SameKindOfExpiry(primary.Expiry, secondary.Expiry, expiryTolerance) ? null : SessionMismatchKind.ExpiryDiffers;
    }

    /// <summary>
    /// Whether both copies expire the same way, not only after the same time: both sliding, by the same window and
    /// both with an absolute cap or neither; or neither sliding. With 20 minutes left on each, a sliding copy and an
    /// absolute one part after the switch (active users signed out, or a cap gone), as does a copy that lost its cap.
    /// </summary>
    /// <remarks>
    /// The caps' values are not compared: Redis keeps a cap on the writing application's clock, PostgreSQL on the
    /// database's, so any clock skew would show as a difference (docs/security.md, "The clock rule"). The time left,
    /// compared above, already shows a cap that has come closer than the window.
    /// </remarks>
    public static bool SameKindOfExpiry(ExpiryState primary, ExpiryState secondary, TimeSpan tolerance) =>
        (primary.EffectiveSliding, secondary.EffectiveSliding) switch
        {
            (null, null) => true, // then the time left is the cap itself
            ({ } p, { } s) => (p - s).Duration() <= tolerance && primary.HasCap == secondary.HasCap,
            _ => false,
        };

    /// <summary>
    /// Whether a store's copy was written (or removed) between two reads of it: another version, or another value
    /// where no version is kept. A difference seen in a session written in between is one its writes are still
    /// carrying to both stores, not a confirmed one.
    /// </summary>
    public static bool Changed(StoredEntry? before, StoredEntry? after) =>
        before is null || after is null
            ? before is not null || after is not null
            : before.Version != after.Version || !before.Value.AsSpan().SequenceEqual(after.Value);

    /// <summary>Sessions are equal when their ids and key-to-value maps are (the PostgreSQL store may reorder keys); other values byte for byte.</summary>
    public static bool SameValue(byte[] left, byte[] right) =>
        left.AsSpan().SequenceEqual(right) || SameSession(left, right);

    // Compares the entries in place, sorted by key: a sampled comparison (and the migrator's verification of
    // every key) used to copy each entry into hex strings, some 30 KB per 2 KB session pair.
    private static bool SameSession(byte[] left, byte[] right)
    {
        if (!SessionPayload.TryReadHeader(left, out var count, out var leftId)
            || !SessionPayload.TryReadHeader(right, out var rightCount, out var rightId)
            || count != rightCount
            || !leftId.SequenceEqual(rightId)
            || SortedEntries(left, count) is not { } leftEntries
            || SortedEntries(right, count) is not { } rightEntries)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            if (!left.AsSpan(leftEntries[i].Key).SequenceEqual(right.AsSpan(rightEntries[i].Key))
                || !left.AsSpan(leftEntries[i].Value).SequenceEqual(right.AsSpan(rightEntries[i].Value)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Where each entry's key and value lie in <paramref name="payload"/>, by key; null when it is not a whole session.</summary>
    private static Entry[]? SortedEntries(byte[] payload, int count)
    {
        // Each entry takes at least its two length prefixes: a header claiming more cannot be a session.
        if (count > (payload.Length - SessionPayload.HeaderLength) / 6)
        {
            return null;
        }

        var entries = new Entry[count];
        var reader = new SessionPayload.EntryReader(payload.AsSpan(SessionPayload.HeaderLength));
        for (var i = 0; i < count; i++)
        {
            if (!reader.TryReadNext())
            {
                return null;
            }

            entries[i] = new Entry(RangeOf(payload, reader.Key), RangeOf(payload, reader.Value));
        }

        if (!reader.AtEnd)
        {
            return null;
        }

        // By key, then by value: a payload that repeats a key still compares equal to the same entries in another order.
        Array.Sort(entries, (a, b) => payload.AsSpan(a.Key).SequenceCompareTo(payload.AsSpan(b.Key)) is var byKey and not 0
            ? byKey
            : payload.AsSpan(a.Value).SequenceCompareTo(payload.AsSpan(b.Value)));
        return entries;
    }

    private static Range RangeOf(byte[] payload, ReadOnlySpan<byte> part) =>
        part.IsEmpty ? default : ((ReadOnlySpan<byte>)payload).Overlaps(part, out var start) ? new Range(start, start + part.Length) : throw new InvalidOperationException("The entry lies outside its payload.");

    private readonly record struct Entry(Range Key, Range Value);
}
