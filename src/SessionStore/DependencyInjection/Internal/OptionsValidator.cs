using Microsoft.Extensions.Options;

namespace SessionStore.DependencyInjection.Internal;

/// <summary>Adapts an options class's own <c>Validate()</c>, which lists every failure, to <see cref="IValidateOptions{TOptions}"/>.</summary>
internal sealed class OptionsValidator<TOptions>(Func<TOptions, IReadOnlyList<string>> validate) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options) =>
        validate(options) is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
}
