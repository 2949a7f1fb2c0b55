using System.Text;
using SessionStore.Internal;

namespace SessionStore.Benchmarks;

/// <summary>Session payloads as ASP.NET Core writes them: a signed-in user, a counter and a cart padding to the size wanted.</summary>
internal static class SessionPayloads
{
    public static byte[] Create(int size)
    {
        var entries = new List<(byte[] Key, byte[] Value)>
        {
            ("UserId"u8.ToArray(), "user-4711"u8.ToArray()),
            ("Visits"u8.ToArray(), [0, 0, 0, 42]),
        };
        var used = SessionPayload.HeaderLength + entries.Sum(e => 6 + e.Key.Length + e.Value.Length) + 6 + 4;
        entries.Add(("Cart"u8.ToArray(), Encoding.UTF8.GetBytes(new string('x', Math.Max(0, size - used)))));

        var payload = new byte[SessionPayload.HeaderLength + entries.Sum(e => 6 + e.Key.Length + e.Value.Length)];
        SessionPayload.WriteHeader(payload, entries.Count, Guid.NewGuid().ToByteArray());
        var position = SessionPayload.HeaderLength;
        foreach (var (key, value) in entries)
        {
            SessionPayload.WriteKeyLength(payload.AsSpan(position), key.Length);
            key.CopyTo(payload, position + 2);
            position += 2 + key.Length;
            SessionPayload.WriteValueLength(payload.AsSpan(position), value.Length);
            value.CopyTo(payload, position + 4);
            position += 4 + value.Length;
        }

        return payload;
    }
}
