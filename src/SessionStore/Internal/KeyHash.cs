using System.Security.Cryptography;
using System.Text;

namespace SessionStore.Internal;

/// <summary>
/// Session ids are credentials: logs and callbacks carry this short hash instead, enough to correlate
/// lines about one key, useless for taking over the session.
/// </summary>
internal static class KeyHash
{
    public static string Of(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return Convert.ToHexStringLower(hash[..6]);
    }
}
