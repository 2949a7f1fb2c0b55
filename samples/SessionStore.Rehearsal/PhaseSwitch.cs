using Microsoft.Extensions.Configuration;

namespace SessionStore.Rehearsal;

/// <summary>
/// A configuration source holding <c>SessionStore:Phase</c> alone: setting it raises the same reload that an edit
/// of appsettings.json does, so the application changes phase on its next request, without a restart.
/// </summary>
internal sealed class PhaseSwitch : ConfigurationProvider, IConfigurationSource
{
    private const string Key = $"{SessionStoreOptions.SectionName}:{nameof(SessionStoreOptions.Phase)}";

    public PhaseSwitch(SessionStorePhase phase) => Data[Key] = phase.ToString();

    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    public void Enter(SessionStorePhase phase)
    {
        Data[Key] = phase.ToString();
        OnReload();
    }
}
