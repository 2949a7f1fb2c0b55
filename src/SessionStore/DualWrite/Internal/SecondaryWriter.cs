namespace SessionStore.DualWrite.Internal;

/// <summary>
/// The one place a request's write reaches the secondary store: after the primary's, bounded, never thrown
/// (see <see cref="SecondaryCalls"/>). A write that does not land is remembered for <see cref="CatchUp"/>, which
/// copies the primary's entry over once the secondary answers, so the secondary ends with the primary's last write.
/// </summary>
internal sealed class SecondaryWriter(SecondaryCalls calls, CatchUp catchUp)
{
    public async Task WriteAsync(Route route, string key, string operation, Func<SessionStore.Internal.ISessionCacheProvider, CancellationToken, ValueTask> write, CancellationToken token)
    {
        var kind = route.SecondaryKind!.Value;
        try
        {
            if (!await calls.TryRunAsync(route.Secondary!, kind, operation, key, write, token).ConfigureAwait(false))
            {
                catchUp.Missed(kind, key, removed: operation == "remove", keepsRemoval: operation == "refresh");
            }
        }
        catch (OperationCanceledException)
        {
            // The caller gave up after the primary was written: the secondary's copy is brought up to date later.
            catchUp.Missed(kind, key, removed: operation == "remove", keepsRemoval: operation == "refresh");
            throw;
        }
    }
}
