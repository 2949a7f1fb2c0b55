using SessionStore.Migration.Internal;

namespace SessionStore.Tests.Migration;

/// <summary>Reading <c>CLUSTER NODES</c> as Redis 7 prints it, and naming a Redis source the same way whatever the node order.</summary>
public sealed class ClusterNodeLineTests
{
    private const string Nodes =
        "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n" +
        "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922\n" +
        "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]\n";

    [Fact]
    public void Each_line_gives_the_node_its_role_its_epoch_and_its_slots_with_migrations()
    {
        var lines = ClusterNodeLine.ParseAll(Nodes);

        Assert.Equal(3, lines.Count);
        var self = Assert.Single(lines, line => line.IsMyself);
        Assert.Equal(("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", true, 1L), (self.Id, self.IsPrimary, self.ConfigEpoch));
        Assert.True(self.Migrating);
        Assert.True(self.ServesSlots);
        Assert.False(lines[0].IsPrimary);
        Assert.False(lines[0].ServesSlots);
        Assert.Equal("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", lines[0].PrimaryId);
        Assert.False(lines[1].Migrating);
    }

    [Fact]
    public void The_normalized_line_ignores_ping_times_and_link_state_but_not_slots_roles_or_epochs()
    {
        var line = ClusterNodeLine.Parse("67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922")!;
        var later = ClusterNodeLine.Parse("67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master,fail? - 99 1426238399999 2 disconnected 5461-10922")!;
        var resharded = ClusterNodeLine.Parse("67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 7 connected 5000-10922")!;
        var demoted = ClusterNodeLine.Parse("67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 slave 07c37dfeb235213a872192d90877d0cd55635b91 0 1426238316232 2 connected")!;

        Assert.Equal(line.Normalized, later.Normalized);
        Assert.NotEqual(line.Normalized, resharded.Normalized);
        Assert.NotEqual(line.Normalized, demoted.Normalized);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("id addr master - 0 0 1")]
    public void A_line_that_is_not_a_node_is_ignored(string line) => Assert.Null(ClusterNodeLine.Parse(line));
}
