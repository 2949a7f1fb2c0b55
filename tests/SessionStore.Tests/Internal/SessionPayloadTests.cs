using System.Text;
using SessionStore.Internal;

namespace SessionStore.Tests.Internal;

public sealed class SessionPayloadTests
{
    [Fact]
    public void The_text_of_a_key_is_found_only_when_the_value_is_valid_utf8()
    {
        var session = new TestSessionPayload(new byte[16], [new("UserId", "ada"u8.ToArray()), new("Other", "bob"u8.ToArray()), new("Binary", [0xFF, 0x00])]);
        var bytes = session.ToBytes();

        Assert.Equal("ada", SessionPayload.FindUserId(bytes, "UserId"u8));
        Assert.Equal("bob", SessionPayload.FindUserId(bytes, "Other"u8));
        Assert.Null(SessionPayload.FindUserId(bytes, "Binary"u8));
        Assert.Null(SessionPayload.FindUserId(bytes, "Missing"u8));
        Assert.Null(SessionPayload.FindUserId(bytes, ""u8));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\n")]
    public void A_blank_user_id_names_no_user(string blank)
    {
        // Recorded, it gathered every session of an application that blanks the key on sign-out under one user, whom no revoke may name.
        var bytes = new TestSessionPayload(new byte[16], [new("UserId", Encoding.UTF8.GetBytes(blank))]).ToBytes();

        Assert.Null(SessionPayload.FindUserId(bytes, "UserId"u8));
    }

    [Theory]
    [InlineData("evil\0user")]
    [InlineData("\0")]
    public void A_user_id_holding_a_nul_names_no_user(string withNul)
    {
        // PostgreSQL text cannot hold it: sent, every write of the session failed, and opened the store's breaker.
        var bytes = new TestSessionPayload(new byte[16], [new("UserId", Encoding.UTF8.GetBytes(withNul))]).ToBytes();

        Assert.Null(SessionPayload.FindUserId(bytes, "UserId"u8));
    }

    [Fact]
    public void Bytes_that_are_not_a_session_hold_no_text() =>
        Assert.Null(SessionPayload.FindUserId(Encoding.UTF8.GetBytes("UserId=ada"), "UserId"u8));
}
