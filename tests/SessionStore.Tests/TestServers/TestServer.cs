namespace SessionStore.Tests.TestServers;

/// <summary>
/// A server shared by every test in the assembly, taken in this order: the address in an environment variable;
/// a throw-away local server from the installed binaries; a Testcontainers container when a Docker engine answers.
/// </summary>
public abstract class TestServer(string serverName, string environmentVariable, string howToGetOne) : IAsyncLifetime
{
    private string? _address;
    private string _unavailableReason = "not started";
    private IAsyncDisposable? _owned;

    /// <summary>The server's address (connection string); skips (locally) or fails (on CI) the calling test when there is none.</summary>
    protected string Address => _address ?? throw ServerRequirement.Unavailable(serverName, _unavailableReason, howToGetOne);

    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } configured)
        {
            _address = configured;
            return;
        }

        var reasons = new List<string>();
        foreach (var start in new[] { StartLocalAsync, StartContainerAsync })
        {
            try
            {
                if (await start(reasons) is { } started)
                {
                    (_owned, _address) = started;
                    return;
                }
            }
            catch (Exception e)
            {
                reasons.Add($"{e.GetType().Name}: {e.Message}");
            }
        }

        _unavailableReason = string.Join("; ", reasons);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_owned is not null)
        {
            await _owned.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Starts a local server, or says in <paramref name="reasons"/> why there is none to start.</summary>
    protected abstract Task<(IAsyncDisposable Server, string Address)?> StartLocalAsync(List<string> reasons);

    protected abstract Task<(IAsyncDisposable Server, string Address)?> StartContainerAsync(List<string> reasons);
}
