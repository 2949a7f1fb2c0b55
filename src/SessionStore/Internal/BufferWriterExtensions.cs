using System.Buffers;

namespace SessionStore.Internal;

internal static class BufferWriterExtensions
{
    /// <summary>The buffer API's answer for a read that came back as an array: copy it, or report the miss.</summary>
    public static bool TryWrite(this IBufferWriter<byte> destination, byte[]? value)
    {
        if (value is null)
        {
            return false;
        }

        destination.Write(value);
        return true;
    }
}
