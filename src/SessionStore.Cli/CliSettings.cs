using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using SessionStore.Cli.Commands;

namespace SessionStore.Cli;

/// <summary>
/// The options every command shares, and the <c>SessionStore</c> configuration they make: the appsettings file,
/// then <c>SessionStore__...</c> environment variables, then the flags, each overriding the one before.
/// </summary>
internal sealed class CliSettings
{
    public Option<string?> Config { get; } = Global("--config", "An appsettings JSON file with a SessionStore section.");

    public Option<string?> Postgres { get; } = Global("--postgres", "The PostgreSQL connection string (SessionStore:Postgres:ConnectionString).");

    public Option<string?> Redis { get; } = Global("--redis", "The Redis configuration string (SessionStore:Redis:Configuration).");

    public Option<string?> InstanceName { get; } = Global("--instance-name", "The Redis key prefix, RedisCache's InstanceName (SessionStore:Redis:InstanceName).");

    public Option<string?> Schema { get; } = Global("--schema", "The session table's schema (SessionStore:Postgres:SchemaName).");

    public Option<string?> Table { get; } = Global("--table", "The session table (SessionStore:Postgres:TableName).");

    public Option<string?> Phase { get; } = Global("--phase", "The migration phase: redis-only, dual-redis-primary, dual-pg-primary or pg-only (SessionStore:Phase).");

    public Option<string?> Timeout { get; } = Global(
        "--timeout",
        "How long each connection attempt and store call may take before the command gives up, as hh:mm:ss (00:00:30 is 30 seconds; 10 ms to 5 minutes): SessionStore:Postgres:OperationTimeout and SessionStore:Redis:OperationTimeout at once.");

    public IEnumerable<Option> All => [Config, Postgres, Redis, InstanceName, Schema, Table, Phase, Timeout];

    /// <summary>The <c>SessionStore</c> section: file, then environment, then flags.</summary>
    public IConfigurationSection Section(ParseResult parse, IReadOnlyDictionary<string, string?>? environment)
    {
        var builder = new ConfigurationBuilder();
        if (parse.GetValue(Config) is { } path)
        {
            if (!File.Exists(path))
            {
                throw new CliUsageException(Directory.Exists(path)
                    ? $"The configuration file {path} is a directory; give the JSON file itself, e.g. {Path.Combine(path, "appsettings.json")}."
                    : $"The configuration file {path} does not exist.");
            }

            builder.AddJsonFile(Path.GetFullPath(path), optional: false, reloadOnChange: false);
        }

        if (environment is null)
        {
            builder.AddEnvironmentVariables();
        }
        else
        {
            builder.AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value)));
        }

        var flags = new Dictionary<string, string?>();
        Override(Postgres, "Postgres:ConnectionString");
        Override(Redis, "Redis:Configuration");
        Override(InstanceName, "Redis:InstanceName");
        Override(Schema, "Postgres:SchemaName");
        Override(Table, "Postgres:TableName");
        Override(Phase, "Phase");
        if (OperationTimeout(parse) is { } timeout)
        {
            var value = timeout.ToString("c", CultureInfo.InvariantCulture);
            flags[$"{SessionStoreOptions.SectionName}:Postgres:OperationTimeout"] = value;
            flags[$"{SessionStoreOptions.SectionName}:Redis:OperationTimeout"] = value;
        }

        builder.AddInMemoryCollection(flags);
        try
        {
            return builder.Build().GetSection(SessionStoreOptions.SectionName);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            throw new CliUsageException($"The configuration file could not be read: {e.Message}");
        }

        void Override(Option<string?> option, string key)
        {
            if (parse.GetValue(option) is { } value)
            {
                flags[$"{SessionStoreOptions.SectionName}:{key}"] = value;
            }
        }
    }

    /// <summary>The options bound from <see cref="Section"/>, as <c>AddDualWriteSessionStore</c> binds them.</summary>
    public SessionStoreOptions Options(ParseResult parse, IReadOnlyDictionary<string, string?>? environment)
    {
        var options = new SessionStoreOptions();
        options.BindFrom(Section(parse, environment));

        // As the application's start-up refuses them: a section that could not be bound (TuningFailures then names
        // that alone), a setting out of range (a negative SecondaryTimeout would hang verify and sync), or a blank
        // UserIdSessionKey (the stores are not given it: backfill and sync copied every session with no user id).
        var failures = options.TuningFailures();
        if (failures.Count == 0 && options.UserIdSessionKeyFailure() is { } userIdKeyFailure)
        {
            failures.Add(userIdKeyFailure);
        }

        if (failures.Count > 0)
        {
            throw new CliUsageException($"The configuration is invalid: {string.Join(" ", failures)}");
        }

        // The binder turns a phase it cannot read into Unspecified rather than failing; a tool must not then guess one.
        // An empty value too: it is not a missing key, and a default must not stand in for a phase typed wrong.
        if (options.Phase == SessionStorePhase.Unspecified && Section(parse, environment)["Phase"] is { } typed)
        {
            var validList = options.Validate().First(f => f.StartsWith($"{SessionStoreOptions.SectionName}:Phase", StringComparison.Ordinal));
            throw new CliUsageException($"--phase (SessionStore:Phase) is '{typed}', which names no phase. {validList}");
        }

        return options;
    }

    /// <summary>The <c>--timeout</c> flag's duration, or null without it; refused unless it reads as hh:mm:ss within the stores' range.</summary>
    private TimeSpan? OperationTimeout(ParseResult parse)
    {
        if (parse.GetValue(Timeout) is not { } text)
        {
            return null;
        }

        // A bare number is refused: TimeSpan reads "30" as 30 days, which the operator who typed it never meant.
        var (minimum, maximum) = (SessionCacheProviderOptions.MinimumOperationTimeout, SessionCacheProviderOptions.MaximumOperationTimeout);
        if (!OptionChecks.IsClockDuration(text) || !TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var timeout))
        {
            throw new CliUsageException(OptionChecks.NotADuration(Timeout.Name, text, "00:00:30 for 30 seconds or 00:00:00.500 for half a second"));
        }

        if (timeout < minimum || timeout > maximum)
        {
            throw new CliUsageException($"--timeout is '{text}'; it must be between {minimum.TotalMilliseconds} ms and {maximum.TotalMinutes} minutes.");
        }

        return timeout;
    }

    private static Option<string?> Global(string name, string description) => new(name) { Description = description, Recursive = true };
}
