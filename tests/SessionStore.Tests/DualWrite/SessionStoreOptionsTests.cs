using Microsoft.Extensions.Configuration;

namespace SessionStore.Tests.DualWrite;

public sealed class SessionStoreOptionsTests
{
    [Theory]
    [InlineData(nameof(SessionStoreOptions.BreakDuration), "BreakDuration is 00:00:00.1000000; it must be between 00:00:00.500 and 00:05:00")]
    [InlineData(nameof(SessionStoreOptions.BreakerSamplingDuration), "BreakerSamplingDuration is 00:00:00.1000000; it must be between 00:00:00.500 and 00:01:00")]
    [InlineData(nameof(SessionStoreOptions.BreakerFailureRatio), "BreakerFailureRatio is 0; it must be more than 0 and at most 1")]
    [InlineData(nameof(SessionStoreOptions.BreakerMinimumThroughput), "BreakerMinimumThroughput is 1; it must be at least 2")]
    [InlineData(nameof(SessionStoreOptions.CatchUpCapacity), "CatchUpCapacity is -1; it must be between 0 and 10000000")]
    [InlineData(nameof(SessionStoreOptions.HealthCheckTimeout), "HealthCheckTimeout is 00:00:00")]
    public void Each_resilience_setting_out_of_range_is_reported_with_its_key_and_range(string setting, string expected)
    {
        var options = new SessionStoreOptions { Phase = SessionStorePhase.RedisOnly };
        options.Redis.Configuration = "localhost";
        Assert.Empty(options.Validate());

        _ = setting switch
        {
            nameof(SessionStoreOptions.BreakDuration) => options.BreakDuration = TimeSpan.FromMilliseconds(100),
            nameof(SessionStoreOptions.BreakerSamplingDuration) => options.BreakerSamplingDuration = TimeSpan.FromMilliseconds(100),
            nameof(SessionStoreOptions.HealthCheckTimeout) => options.HealthCheckTimeout = TimeSpan.Zero,
            _ => TimeSpan.Zero,
        };
        options.BreakerFailureRatio = setting == nameof(SessionStoreOptions.BreakerFailureRatio) ? 0 : options.BreakerFailureRatio;
        options.BreakerMinimumThroughput = setting == nameof(SessionStoreOptions.BreakerMinimumThroughput) ? 1 : options.BreakerMinimumThroughput;
        options.CatchUpCapacity = setting == nameof(SessionStoreOptions.CatchUpCapacity) ? -1 : options.CatchUpCapacity;

        var failure = Assert.Single(options.Validate());
        Assert.StartsWith($"SessionStore:{setting}", failure, StringComparison.Ordinal);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_phase_number_set_in_code_that_names_no_phase_is_reported_with_the_number()
    {
        var options = new SessionStoreOptions { Phase = (SessionStorePhase)7 };

        var failure = Assert.Single(options.Validate());
        Assert.Contains("SessionStore:Phase is '7', which names no phase", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_log_level_that_names_none_is_reported_with_its_key()
    {
        var options = new SessionStoreOptions { Phase = SessionStorePhase.RedisOnly, SecondaryFailureLogLevel = (Microsoft.Extensions.Logging.LogLevel)7 };
        options.Redis.Configuration = "localhost";

        var failure = Assert.Single(options.Validate());
        Assert.StartsWith("SessionStore:SecondaryFailureLogLevel is 7; allowed: Trace,", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SecondaryTimout", "00:00:01", "SessionStore:SecondaryTimout is not a setting, so it would be ignored; the settings under SessionStore are BreakDuration,")]
    [InlineData("Postgres:OperationTimout", "00:00:01", "SessionStore:Postgres:OperationTimout is not a setting")]
    [InlineData("Fleet:StaleAftr", "00:05:00", "SessionStore:Fleet:StaleAftr is not a setting")]
    [InlineData("OnMismatch", "Log", "SessionStore:OnMismatch is not a setting")]
    [InlineData("Postgres", "Host=db;Password=secret", "SessionStore:Postgres holds a value, but it is a section: set its keys instead, such as SessionStore:Postgres:ConnectionString.")]
    [InlineData("SecondaryTimeout:0", "00:00:01", "SessionStore:SecondaryTimeout holds a section or a list, but it takes one value.")]
    [InlineData("CatchUpCapacity", null, "SessionStore:CatchUpCapacity is null, which would set it to 0: give it a value, or remove the key to keep its default.")]
    [InlineData("Postgres:TouchThreshold", null, "SessionStore:Postgres:TouchThreshold is null, which would set it to 0:")]
    [InlineData("Cleanup:BatchSize", null, "SessionStore:Cleanup:BatchSize is null, which would set it to 0:")]
    [InlineData("Postgres:PayloadFormat", "1", "SessionStore:Postgres:PayloadFormat is '1', which names none of its choices: Jsonb, Bytea.")]
    [InlineData("Postgres:PayloadFormat", "Jsonb,Bytea", "SessionStore:Postgres:PayloadFormat is 'Jsonb,Bytea', which names none of its choices:")]
    [InlineData("Postgres:SynchronousCommit", "ServerSetting,Off", "SessionStore:Postgres:SynchronousCommit is 'ServerSetting,Off', which names none of its choices:")]
    [InlineData("SecondaryFailureLogLevel", "Information,Warning", "SessionStore:SecondaryFailureLogLevel is 'Information,Warning', which names none of its choices: Trace,")]
    [InlineData("SecondaryFailureLogLevel", "7", "SessionStore:SecondaryFailureLogLevel is '7', which names none of its choices:")]
    public void A_key_that_would_bind_to_nothing_is_reported_instead_of_ignored(string key, string? value, string expected)
    {
        var options = Bind(new()
        {
            ["SessionStore:Phase"] = "RedisOnly",
            ["SessionStore:Redis:Configuration"] = "localhost",
            [$"SessionStore:{key}"] = value,
        });

        var failure = Assert.Single(options.Validate());
        Assert.StartsWith(expected, failure, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", failure, StringComparison.Ordinal);
        Assert.Equal(failure, Assert.Single(options.Cleanup.Validate()));
    }

    [Fact]
    public void A_value_where_the_whole_section_belongs_is_reported_without_quoting_it()
    {
        // "SessionStore": "Host=db;…" in a tool's --config file was ignored, the flags running without it.
        var options = Bind(new() { ["SessionStore"] = "Host=db;Password=secret" });

        var failure = Assert.Single(options.Validate());
        Assert.StartsWith("SessionStore holds a value, but it is a section: set its keys instead, such as SessionStore:", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]   // JSON {} and JSON null alike; an environment variable set to nothing
    [InlineData(null)]
    public void An_empty_section_whose_absence_switches_a_feature_off_is_reported_instead_of_read_as_off(string? value)
    {
        var options = Bind(new()
        {
            ["SessionStore:Phase"] = "PostgresOnly",
            ["SessionStore:Postgres:ConnectionString"] = "Host=localhost",
            ["SessionStore:Postgres:Partitioning"] = value,
        });

        // "Partitioning": {} reads as "partition with the defaults", yet bound to nothing, it made a plain table.
        var failure = Assert.Single(options.Validate());
        Assert.Equal(
            "SessionStore:Postgres:Partitioning is empty, which would leave it unset (off): set one of its keys (Horizon, Interval), or remove the key.",
            failure);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("  ", "blank")] // names no session key an application sets: no user would ever be recorded
    public void An_empty_or_blank_shared_user_id_key_is_reported_under_its_own_key_only(string value, string described)
    {
        var options = Bind(new()
        {
            ["SessionStore:Phase"] = "DualWriteRedisPrimary",
            ["SessionStore:Postgres:ConnectionString"] = "Host=localhost",
            ["SessionStore:Redis:Configuration"] = "localhost",
            ["SessionStore:UserIdSessionKey"] = value,
        });
        options.ApplyUserIdSessionKey();

        // Passed on, it was reported as SessionStore:Postgres: UserIdSessionKey and SessionStore:Redis: UserIdSessionKey, keys nobody set.
        var failure = Assert.Single(options.Validate());
        Assert.StartsWith($"SessionStore:UserIdSessionKey is {described};", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(options.Postgres.Validate(), f => f.Contains("UserIdSessionKey", StringComparison.Ordinal));

        // Set on one store, the store reports it.
        var store = new SessionStore.Postgres.PostgresSessionCacheOptions { ConnectionString = "Host=localhost", UserIdSessionKey = value };
        Assert.StartsWith($"UserIdSessionKey is {described};", Assert.Single(store.Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_documented_setting_binds_in_any_case()
    {
        var options = Bind(new()
        {
            ["SessionStore:phase"] = "DualWritePostgresPrimary",
            ["SessionStore:SecondaryTimeout"] = "00:00:01",
            ["SessionStore:Postgres:ConnectionString"] = "Host=localhost",
            ["SessionStore:Postgres:Partitioning:Interval"] = "01:00:00",
            ["SessionStore:Postgres:TouchThreshold"] = "0.5",
            ["SessionStore:Redis:configuration"] = "localhost",
            ["SessionStore:Redis:InstanceName"] = "",
            ["SessionStore:Cleanup:BatchSize"] = "500",
            ["SessionStore:Fleet:StaleAfter"] = "00:05:00",
            ["SessionStore:Postgres:PayloadFormat"] = " bytea ",
            ["SessionStore:SecondaryFailureLogLevel"] = "warning",
        });

        Assert.Empty(options.Validate());
        Assert.Equal(SessionStore.Postgres.PostgresPayloadFormat.Bytea, options.Postgres.PayloadFormat);
        Assert.Equal(TimeSpan.FromSeconds(1), options.SecondaryTimeout);
        Assert.Equal(TimeSpan.FromHours(1), options.Postgres.Partitioning?.Interval);
        Assert.Equal(500, options.Cleanup.BatchSize);
    }

    [Fact]
    public void A_value_the_binder_converts_to_an_object_and_an_empty_key_are_no_failure()
    {
        var options = Bind(new()
        {
            ["SessionStore:Phase"] = "RedisOnly",
            ["SessionStore:Redis:ConfigurationOptions:DefaultVersion"] = "7.2", // a Version, read from one value
            ["SessionStore:OnMismatch"] = "",                                    // JSON null: sets nothing
            ["SessionStore:Redis:InstanceName"] = null,                          // a null string is no instance name, as unset
            ["SessionStore:FailoverReadsToSecondary"] = null,                    // a null that binds to the setting's own default
            ["SessionStore:Postgres:PayloadFormat"] = null,
        });

        Assert.Null(options.BindingFailure);
        Assert.Equal(new Version(7, 2), options.Redis.ConfigurationOptions?.DefaultVersion);
    }

    private static SessionStoreOptions Bind(Dictionary<string, string?> settings)
    {
        var options = new SessionStoreOptions();
        options.BindFrom(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(SessionStoreOptions.SectionName));
        return options;
    }
}
