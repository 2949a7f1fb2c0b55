using SessionStore.DualWrite.Internal;

namespace SessionStore.Tests.DualWrite;

public sealed class PhaseRolesTests
{
    [Theory]
    [InlineData(SessionStorePhase.RedisOnly, SessionStorePhase.DualWriteRedisPrimary, null)]
    [InlineData(SessionStorePhase.DualWritePostgresPrimary, SessionStorePhase.DualWriteRedisPrimary, null)]
    [InlineData(SessionStorePhase.PostgresOnly, SessionStorePhase.PostgresOnly, null)]
    [InlineData(SessionStorePhase.RedisOnly, SessionStorePhase.PostgresOnly, SessionStorePhase.DualWriteRedisPrimary)]
    [InlineData(SessionStorePhase.RedisOnly, SessionStorePhase.DualWritePostgresPrimary, SessionStorePhase.DualWriteRedisPrimary)]
    [InlineData(SessionStorePhase.PostgresOnly, SessionStorePhase.RedisOnly, SessionStorePhase.DualWritePostgresPrimary)]
    [InlineData(SessionStorePhase.PostgresOnly, SessionStorePhase.DualWriteRedisPrimary, SessionStorePhase.DualWritePostgresPrimary)]
    [InlineData(SessionStorePhase.DualWriteRedisPrimary, SessionStorePhase.PostgresOnly, SessionStorePhase.DualWritePostgresPrimary)]
    public void A_switch_of_more_than_one_step_names_the_next_step_towards_the_target(SessionStorePhase from, SessionStorePhase to, SessionStorePhase? safe) =>
        Assert.Equal(safe, PhaseRoles.SafeNextStep(from, to));

    [Fact]
    public void Every_phase_has_one_primary_and_the_dual_phases_the_other_store_as_secondary()
    {
        foreach (var phase in Enum.GetValues<SessionStorePhase>().Skip(1))
        {
            var (primary, secondary) = PhaseRoles.Of(phase);
            Assert.Equal(phase is SessionStorePhase.DualWriteRedisPrimary or SessionStorePhase.DualWritePostgresPrimary, secondary is not null);
            Assert.NotEqual(primary, secondary);
            Assert.Equal(secondary is null ? PhaseRoles.Other(primary) : null, PhaseRoles.Idle(phase));
        }

        Assert.Equal((false, false), PhaseRoles.StoresOf(SessionStorePhase.Unspecified));
    }
}
