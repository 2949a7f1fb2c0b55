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

        return (primary.Expiry.Remaining, secondary.Expiry.Remaining) switch
        {
            (null, null) => null,
            ({ } p, { } s) when (p - s).Duration() <= expiryTolerance => null,
            _ => SessionMismatchKind.ExpiryDiffers,
        };
    }

    /// <summary>Sessions are equal when their ids and key-to-value maps are (the PostgreSQL store may reorder keys); other values byte for byte.</summary>
    public static bool SameValue(byte[] left, byte[] right) =>
        left.AsSpan().SequenceEqual(right) || (Entries(left) is { } l && Entries(right) is { } r && l.SequenceEqual(r));

    private static List<string>? Entries(byte[] payload)
    {
        if (!SessionPayload.TryReadHeader(payload, out var count, out var id))
        {
            return null;
        }

        var entries = new List<string>(count + 1) { Convert.ToHexString(id) };
        var reader = new SessionPayload.EntryReader(payload.AsSpan(SessionPayload.HeaderLength));
        for (var i = 0; i < count; i++)
        {
            if (!reader.TryReadNext())
            {
                return null;
            }

            entries.Add(Convert.ToHexString(reader.Key) + ":" + Convert.ToHexString(reader.Value));
        }

        if (!reader.AtEnd)
        {
            return null;
        }

        entries.Sort(1, entries.Count - 1, StringComparer.Ordinal);
        return entries;
    }
}
