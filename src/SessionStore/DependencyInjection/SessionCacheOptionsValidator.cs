using Microsoft.Extensions.Options;
using SessionStore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Runs <see cref="SessionCacheOptions.Validate"/> at start-up, so a bad setting stops the host with every failure listed.</summary>
internal sealed class SessionCacheOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : SessionCacheOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options) =>
        options.Validate() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
}
