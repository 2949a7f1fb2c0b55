namespace SessionStore.Internal;

/// <summary>
/// The pooled buffers a batch's parameters point into, given back together once the batch has run: Npgsql reads
/// a parameter's memory while it sends, so a buffer must outlive the statement, not the call that filled it.
/// </summary>
internal sealed class PooledBuffers : IDisposable
{
    private readonly List<PooledBufferWriter> _rented = new(2);

    public PooledBufferWriter Rent(int initialCapacity)
    {
        var buffer = new PooledBufferWriter(initialCapacity);
        _rented.Add(buffer);
        return buffer;
    }

    public void Dispose()
    {
        foreach (var buffer in _rented)
        {
            buffer.Dispose();
        }

        _rented.Clear();
    }
}
