using SessionStore.LocalServers;

namespace SessionStore.Tests.TestServers;

/// <summary>
/// A Microsoft Garnet server for the Garnet tests, started with <c>--lua</c>; <c>SESSIONSTORE_TEST_GARNET</c>
/// names one of your own. The <c>garnet-server</c> dotnet tool is installed under artifacts/tools/garnet when missing.
/// </summary>
public sealed class GarnetServer() : GarnetServerBase("SESSIONSTORE_TEST_GARNET", lua: true);

/// <summary>A Garnet server started without <c>--lua</c>, which refuses EVAL/EVALSHA; <c>SESSIONSTORE_TEST_GARNET_NOLUA</c> names one of your own.</summary>
public sealed class GarnetWithoutLuaServer() : GarnetServerBase("SESSIONSTORE_TEST_GARNET_NOLUA", lua: false);

public abstract class GarnetServerBase(string environmentVariable, bool lua) : RespTestServer(
    lua ? "Garnet" : "Garnet (without --lua)",
    environmentVariable,
    $"Set {environmentVariable} to a StackExchange.Redis configuration string, run scripts/install-servers.sh, or run: dotnet tool install --tool-path artifacts/tools/garnet garnet-server --version {LocalGarnet.Version}")
{
    protected override async Task<(IAsyncDisposable Server, string Address)?> StartLocalAsync(List<string> reasons)
    {
        var binary = LocalGarnet.FindBinary() ?? await LocalGarnet.InstallAsync();
        var local = await LocalGarnet.StartAsync(binary, lua);
        return (local, local.Configuration);
    }

    protected override Task<(IAsyncDisposable Server, string Address)?> StartContainerAsync(List<string> reasons)
    {
        reasons.Add("no container fallback for Garnet");
        return Task.FromResult<(IAsyncDisposable, string)?>(null);
    }
}
