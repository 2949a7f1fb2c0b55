using System.ComponentModel;
using SessionStore.Internal;

namespace SessionStore.Tests.Internal;

public sealed class SessionStorePhaseConverterTests
{
    [Theory]
    [InlineData("RedisOnly", SessionStorePhase.RedisOnly)]
    [InlineData("redis-only", SessionStorePhase.RedisOnly)]
    [InlineData("dualwriteredisprimary", SessionStorePhase.DualWriteRedisPrimary)]
    [InlineData("dual-redis-primary", SessionStorePhase.DualWriteRedisPrimary)]
    [InlineData(" DualWritePostgresPrimary ", SessionStorePhase.DualWritePostgresPrimary)]
    [InlineData("DUAL-PG-PRIMARY", SessionStorePhase.DualWritePostgresPrimary)]
    [InlineData("PostgresOnly", SessionStorePhase.PostgresOnly)]
    [InlineData("pg-only", SessionStorePhase.PostgresOnly)]
    public void Names_and_the_articles_spellings_are_accepted(string text, SessionStorePhase expected) =>
        Assert.Equal(expected, TypeDescriptor.GetConverter(typeof(SessionStorePhase)).ConvertFromInvariantString(text));

    [Theory]
    [InlineData("dual-pg-primry")]
    [InlineData("2")]
    [InlineData("Unspecified")]
    [InlineData("")]
    [InlineData("RedisOnly,DualWriteRedisPrimary")] // Enum.TryParse would combine them: 1 | 2 is DualWritePostgresPrimary
    [InlineData("dualwriteredisprimary, redisonly")]
    public void Anything_else_names_no_phase_rather_than_throwing(string text) =>
        Assert.Equal(SessionStorePhase.Unspecified, TypeDescriptor.GetConverter(typeof(SessionStorePhase)).ConvertFromInvariantString(text));

    [Fact]
    public void The_valid_values_list_every_phase_with_its_alias() =>
        Assert.Equal(
            "RedisOnly (redis-only), DualWriteRedisPrimary (dual-redis-primary), DualWritePostgresPrimary (dual-pg-primary), PostgresOnly (pg-only)",
            SessionStorePhaseConverter.ValidValues);
}
