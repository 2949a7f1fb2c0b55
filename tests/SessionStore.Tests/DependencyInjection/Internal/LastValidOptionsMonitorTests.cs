using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using SessionStore.Cleanup;
using SessionStore.DependencyInjection.Internal;
using SessionStore.Tests.Cleanup;

namespace SessionStore.Tests.DependencyInjection.Internal;

public sealed class LastValidOptionsMonitorTests
{
    private readonly FakeLogger _logger = new();

    [Fact]
    public void An_invalid_reload_is_logged_once_naming_the_key_and_range_and_the_last_valid_value_stays()
    {
        var good = new PostgresCleanupOptions { Interval = TimeSpan.FromMinutes(2) };
        var source = new MutableOptionsMonitor<PostgresCleanupOptions>(good);
        var monitor = Monitor(source);
        Assert.Same(good, monitor.CurrentValue);

        source.CurrentValue = new PostgresCleanupOptions { Interval = TimeSpan.FromSeconds(-1) };

        Assert.Same(good, monitor.CurrentValue);
        Assert.Same(good, monitor.CurrentValue);
        var error = Assert.Single(_logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Equal(SessionStoreEventIds.OptionsReloadRefused, error.Id.Id);
        Assert.Contains("SessionStore:Cleanup:Interval is -00:00:01; it must be between 00:00:01 and 1.00:00:00.", error.Message, StringComparison.Ordinal);
        Assert.Contains("the last valid options", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fixed_configuration_applies_again_and_a_later_bad_one_is_logged_again()
    {
        var source = new MutableOptionsMonitor<PostgresCleanupOptions>(new PostgresCleanupOptions());
        var monitor = Monitor(source);
        _ = monitor.CurrentValue;
        source.CurrentValue = new PostgresCleanupOptions { Jitter = 3 };
        _ = monitor.CurrentValue;
        var fixedValue = new PostgresCleanupOptions { Jitter = 0.1 };
        source.CurrentValue = fixedValue;

        Assert.Same(fixedValue, monitor.CurrentValue);
        source.CurrentValue = new PostgresCleanupOptions { Jitter = 3 };
        Assert.Same(fixedValue, monitor.CurrentValue);
        Assert.Equal(2, _logger.Collector.Count);
        Assert.All(_logger.Collector.GetSnapshot(), r => Assert.Contains("SessionStore:Cleanup:Jitter is 3; it must be between 0 and 0.5.", r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_source_whose_own_validator_throws_is_treated_as_an_invalid_value()
    {
        var good = new PostgresCleanupOptions();
        var source = new ThrowingMonitor(good);
        var monitor = Monitor(source);
        _ = monitor.CurrentValue;

        source.Failures = ["BatchSize is 0; it must be between 1 and 100000."];

        Assert.Same(good, monitor.CurrentValue);
        Assert.Contains("SessionStore:Cleanup:BatchSize is 0", Assert.Single(_logger.Collector.GetSnapshot()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_reload_is_logged_when_it_happens_even_if_nothing_reads_the_options()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Cleanup:Jitter"] = "0.1" }).Build();
        using var services = new ServiceCollection().Configure<PostgresCleanupOptions>(configuration.GetSection("Cleanup")).BuildServiceProvider();
        using var monitor = Monitor(services.GetRequiredService<IOptionsMonitor<PostgresCleanupOptions>>());
        _ = monitor.CurrentValue;

        configuration["Cleanup:Jitter"] = "3";
        configuration.Reload();

        Assert.Contains("SessionStore:Cleanup:Jitter is 3", Assert.Single(_logger.Collector.GetSnapshot()).Message, StringComparison.Ordinal);
        Assert.Equal(0.1, monitor.CurrentValue.Jitter);
        Assert.Single(_logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Before_any_valid_value_the_fallback_is_used_or_without_one_the_failure_is_thrown()
    {
        var source = new MutableOptionsMonitor<PostgresCleanupOptions>(new PostgresCleanupOptions { Interval = TimeSpan.Zero });

        Assert.Equal(TimeSpan.FromMinutes(5), Monitor(source, () => new PostgresCleanupOptions()).CurrentValue.Interval);
        Assert.Contains("the defaults", _logger.LatestRecord.Message, StringComparison.Ordinal);
        Assert.Throws<OptionsValidationException>(() => Monitor(source).CurrentValue);
    }

    private LastValidOptionsMonitor<PostgresCleanupOptions> Monitor(IOptionsMonitor<PostgresCleanupOptions> source, Func<PostgresCleanupOptions>? fallback = null) =>
        new(source, o => o.Validate(), "SessionStore:Cleanup", _logger, fallback);

    private sealed class ThrowingMonitor(PostgresCleanupOptions value) : IOptionsMonitor<PostgresCleanupOptions>
    {
        public string[] Failures { get; set; } = [];

        public PostgresCleanupOptions CurrentValue =>
            Failures.Length > 0 ? throw new OptionsValidationException("x", typeof(PostgresCleanupOptions), Failures) : value;

        public PostgresCleanupOptions Get(string? name) => CurrentValue;

        public IDisposable? OnChange(Action<PostgresCleanupOptions, string?> listener) => null;
    }
}
