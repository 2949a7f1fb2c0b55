using Microsoft.Extensions.Configuration;

namespace SessionStore.Tests.Dashboard;

/// <summary><c>SessionStore:Phase</c> as a configuration source whose change raises a reload, as an edit of appsettings.json does.</summary>
internal sealed class LivePhase : ConfigurationProvider, IConfigurationSource
{
    private const string Key = $"{SessionStoreOptions.SectionName}:{nameof(SessionStoreOptions.Phase)}";

    public LivePhase(SessionStorePhase phase) => Data[Key] = phase.ToString();

    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    public void Enter(SessionStorePhase phase)
    {
        Data[Key] = phase.ToString();
        OnReload();
    }
}
